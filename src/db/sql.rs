//! SQL text shared by the queries: quoting, exact money text and the
//! `UNION ALL` of a tenant batch.

pub(super) use crate::model::guard::{quote_ident, quote_literal};

/// `expr` (a price or quantity of any type) as the server's exact text, read
/// into [`crate::money::Value`]. Money's own text is locale-formatted
/// (`$5,000.00`), so it goes through numeric; numeric text is exact, and
/// float text (PostgreSQL 12+, `extra_float_digits` > 0, which every read
/// transaction sets) is the shortest form that reads back to the same
/// float, as psql shows it. Text is taken as it is and checked
/// client-side, so `'N/A'` is a problem of its line, not a query error. `expr` is evaluated three times: pass a
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_the_servers() {
        assert_eq!(quote_ident("globex-eu"), "\"globex-eu\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
    }
}
