//! SQL text shared by the tenant batches: exact money text and the
//! `UNION ALL` of a batch.

/// `expr` (a price or quantity of any type) as the server's exact text, read
/// into [`crate::money::Value`]. Money's own text is locale-formatted
/// (`$5,000.00`), so it goes through numeric; numeric text is exact, and
/// float text (PostgreSQL 12+, any `extra_float_digits` > 0) is the
/// shortest form that reads back to the same float, as psql shows it. Text
/// is taken as it is and checked client-side, so `'N/A'` is a problem of
/// its line, not a query error. `expr` is evaluated three times: pass a
/// column, not a subquery.
pub(super) fn exact_text(expr: &str) -> String {
    format!(
        "CASE WHEN pg_typeof({expr}) = 'money'::regtype THEN ({expr})::numeric::text \
         ELSE ({expr})::text END"
    )
}

/// One statement of the `(column, select)` parts of a tenant batch.
pub(super) fn union_all(selects: &[(usize, String)]) -> String {
    selects
        .iter()
        .map(|(_, select)| select.as_str())
        .collect::<Vec<_>>()
        .join("\n UNION ALL ")
}
