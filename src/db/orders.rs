//! Priced orders of one user in their tenant, beside a comparison tenant's prices.

use serde::Serialize;

use super::catalog::TenantCatalog;
use super::item_match::{ItemRule, RuleChoice};
use std::sync::atomic::Ordering;

use super::lossy::{raw, LossyText};
use super::own_items::{OrderIds, OwnItems};
use super::sql::quote_ident;
use super::{exact_text, Database, DbError, Page, QueryHandle, User};
use crate::money::{Problem, Sum, Value};

/// One order line. [`Value::Missing`] means the value is not there (an item
/// the comparison tenant does not sell, a deleted item, a NULL in the
/// data), never zero; [`Value::Invalid`] a value that is there but is not a
/// usable number (NaN, infinite, text that is no number).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLine {
    /// The order's item column as text (`None`: NULL there).
    pub item_id: Option<String>,
    /// `None`: the order points at an item that no longer exists.
    pub item: Option<String>,
    /// Without trailing zeros: `2.5`, `0.001`, `3`.
    pub quantity: Value,
    /// The item's price in the user's own tenant.
    pub unit_price: Value,
    /// `quantity × unit_price`, exact (see [`Value::line_total`]).
    pub total: Value,
    /// The comparison tenant's price of the same item (matched by the
    /// pair's [`ItemRule`]); missing without a comparison tenant or where
    /// it sells no such item.
    pub compare_unit_price: Value,
    /// `quantity × compare_unit_price`, exact.
    pub compare_total: Value,
    /// The comparison tenant's item that was matched: its id and description.
    pub compare_item_id: Option<String>,
    pub compare_item: Option<String>,
    /// The comparison tenant has an item matching this one (sold there),
    /// whatever its id or price hold.
    pub compare_matched: bool,
    /// How many of its texts (the item, the comparison's) were not UTF-8
    /// (shown with U+FFFD): the CLI warns of them, as `users` does.
    #[serde(skip)]
    pub invalid_utf8: u8,
}

/// One order line as the server sends it: every value in its exact text form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOrderLine {
    pub item_id: Option<String>,
    /// The item's description, lossy where it is not UTF-8.
    pub item: Option<String>,
    /// `None` for NULL, like every field here; [`OrderLine::from_raw`]
    /// reads the texts (a money column arrives through numeric).
    pub quantity: Option<String>,
    pub unit_price: Option<String>,
    pub compare_unit_price: Option<String>,
    pub compare_item_id: Option<String>,
    pub compare_item: Option<String>,
    pub compare_matched: bool,
    /// The line's key names items of the comparison tenant at different
    /// prices: the comparison price is then [`Problem::AmbiguousMatch`]
    /// (see [`Value::matched_price`]). `None`: no match.
    pub compare_ambiguous: Option<bool>,
    /// How many different items of the own tenant the order's item id
    /// names, where more than one (an items table without a primary key
    /// holding rows with other prices or descriptions under one id): the
    /// line's own price is then [`Problem::Ambiguous`], whatever
    /// `unit_price` holds. `None`: one item, or none.
    pub ambiguous: Option<i64>,
    /// See [`OrderLine::invalid_utf8`].
    pub invalid_utf8: u8,
}

impl OrderLine {
    /// Unit price, total, comparison unit price, comparison total and
    /// difference: the money columns, in the order tables show them.
    pub fn money_columns(&self) -> [Value; 5] {
        [
            self.unit_price.clone(),
            self.total.clone(),
            self.compare_unit_price.clone(),
            self.compare_total.clone(),
            self.difference(),
        ]
    }
}

impl OrderLine {
    pub fn from_raw(raw: RawOrderLine) -> OrderLine {
        let quantity = Value::from_text(raw.quantity.as_deref()).quantity();
        let unit_price = match raw.ambiguous.and_then(|n| u64::try_from(n).ok()) {
            Some(items) if items > 1 => Value::Invalid(Problem::Ambiguous { items }),
            _ => Value::from_text(raw.unit_price.as_deref()),
        };
        let compare_unit_price =
            Value::matched_price(raw.compare_unit_price.as_deref(), raw.compare_ambiguous);
        OrderLine {
            total: Value::line_total(&quantity, &unit_price),
            compare_total: Value::line_total(&quantity, &compare_unit_price),
            item_id: raw.item_id,
            item: raw.item,
            quantity,
            unit_price,
            compare_unit_price,
            compare_item_id: raw.compare_item_id,
            compare_item: raw.compare_item,
            compare_matched: raw.compare_matched,
            invalid_utf8: raw.invalid_utf8,
        }
    }

    /// The comparison item found has another description than the own
    /// one (possible only when matching by id or by a key column).
    pub fn names_another_item(&self) -> bool {
        matches!((&self.item, &self.compare_item), (Some(own), Some(theirs)) if own != theirs)
    }

    /// The line's item as the views and tables show it: its description,
    /// `own ≠ theirs` where the comparison matched another description,
    /// `(missing item 42)` where the order's item is gone.
    pub fn item_label(&self) -> String {
        match &self.compare_item {
            Some(theirs) if self.names_another_item() => format!("{} ≠ {theirs}", self.own_item()),
            _ => self.own_item(),
        }
    }

    /// The own item alone: its description, else `(missing item 42)`.
    pub fn own_item(&self) -> String {
        match (&self.item, &self.item_id) {
            (Some(item), _) => item.clone(),
            (None, Some(id)) => format!("(missing item {id})"),
            (None, None) => "(missing item)".into(),
        }
    }

    /// Comparison minus own line total, where both exist.
    pub fn difference(&self) -> Value {
        self.compare_total.minus(&self.total)
    }

    /// Both tenants price this line: it counts in the comparison.
    pub fn compared(&self) -> bool {
        self.total.is_number() && self.compare_total.is_number()
    }

    /// Why the line has no own total, in words that follow "1 line …".
    pub fn gap(&self) -> Option<String> {
        if self.total.is_number() {
            return None;
        }
        Some(
            if self.item.is_none() && self.unit_price == Value::Missing {
                "with a missing item".into()
            } else if let Some(problem) = self.quantity.problem() {
                format!("with a quantity that is {problem}")
            } else if self.quantity == Value::Missing {
                "without a quantity".into()
            } else if let Some(problem) = self.unit_price.problem() {
                format!("with a price that is {problem}")
            } else if self.unit_price == Value::Missing {
                "without a price".into()
            } else {
                format!("with a total that is {}", Problem::OutOfRange)
            },
        )
    }

    /// What is wrong with this line's values, if anything: "price is not a
    /// number (NaN)", "missing item", "comparison price is infinite …".
    pub fn problem(&self) -> Option<String> {
        let mut problems = Vec::new();
        if self.item.is_none() && self.unit_price == Value::Missing {
            problems.push("missing item".to_string());
        }
        for (name, value) in [
            ("quantity", &self.quantity),
            ("price", &self.unit_price),
            ("total", &self.total),
            ("comparison price", &self.compare_unit_price),
            ("comparison total", &self.compare_total),
        ] {
            if let Some(problem) = value.problem() {
                problems.push(format!("{name} is {problem}"));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrdersReport {
    /// The user's tenant schema (see [`User::tenant`]).
    pub tenant: String,
    /// The tenant whose prices stand beside the own ones, if any.
    pub compare_tenant: Option<String>,
    /// The user's orders, by order id.
    pub lines: Vec<OrderLine>,
    /// The totals: from [`OrdersReport::new`] (over every line), or the
    /// server's after [`Database::orders_head`] (which counts its first
    /// page until they come: see `totals_known`).
    pub totals: OrdersTotals,
    /// How items were matched with the comparison tenant's, and why.
    pub item_rule: Option<RuleChoice>,
    /// Why there is no comparison although a tenant was asked for (its
    /// items cannot be read, a configured key column is missing).
    pub compare_error: Option<String>,
    /// The order key of each line of `lines` (keyset paging); empty when
    /// the lines were not read with their keys.
    pub keys: Vec<String>,
    /// The totals above are the server's over every line; `false` while
    /// they are still being computed (the first page came first).
    pub totals_known: bool,
}

/// The totals of all of a user's order lines, computed by the server in
/// one aggregate statement (see [`Database::orders_totals`]) or summed in
/// memory ([`LinesTotals`]): the same values either way.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrdersTotals {
    /// How many order lines the user has.
    pub lines: usize,
    /// The sum of every line total; unknown if one line has none.
    pub total: Value,
    /// Like for like: the comparison tenant's total over the lines both
    /// tenants price. Unknown with no comparison tenant or no such line.
    pub compare_total: Value,
    /// The own total over the same lines as `compare_total`.
    pub compared_total: Value,
    /// Lines both tenants price.
    pub compared_lines: usize,
    /// Lines the comparison tenant has no usable unit price for: not sold
    /// there, NULL, NaN… (0 without a comparison tenant).
    pub compare_missing: usize,
    /// Of those, the lines whose item it has, without a usable price.
    pub compare_unpriced: usize,
    /// Lines without an own total.
    pub own_gaps: usize,
    /// Of those, the lines the comparison tenant prices (a usable unit
    /// price there): not compared for want of the own total.
    pub priced_own_gaps: usize,
    /// Why the own total is unknown (see [`OrdersReport::total_gap`]).
    pub gap: Option<String>,
    /// Lines whose comparison item has another description.
    pub other_items: usize,
}

/// An order line with its place in the user's orders (the order's id as
/// text): a row of the orders pane's keyset window.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedLine {
    pub key: String,
    pub line: OrderLine,
}

impl OrdersReport {
    /// Computes totals and the like-for-like comparison from the lines
    /// (with [`LinesTotals`], as the CLI's stream sums them).
    pub fn new(
        tenant: String,
        compare_tenant: Option<String>,
        lines: Vec<OrderLine>,
    ) -> OrdersReport {
        let mut sum = LinesTotals::new(compare_tenant.is_some());
        for line in &lines {
            sum.add(line);
        }
        OrdersReport {
            tenant,
            compare_tenant,
            lines,
            totals: sum.totals(),
            item_rule: None,
            compare_error: None,
            keys: Vec::new(),
            totals_known: true,
        }
    }

    /// The server's totals over every line (the lines held may be a page).
    pub fn set_totals(&mut self, totals: OrdersTotals) {
        self.totals = totals;
        self.totals_known = true;
    }

    /// The report without its lines (or their keys): the totals, the
    /// comparison and how it was made.
    pub fn without_lines(&self) -> OrdersReport {
        OrdersReport {
            tenant: self.tenant.clone(),
            compare_tenant: self.compare_tenant.clone(),
            lines: Vec::new(),
            totals: self.totals.clone(),
            item_rule: self.item_rule.clone(),
            compare_error: self.compare_error.clone(),
            keys: Vec::new(),
            totals_known: self.totals_known,
        }
    }

    /// The lines held, with their order keys (keys by position where the
    /// lines came without them: a report made from lines in hand).
    pub fn keyed_lines(&self) -> Vec<KeyedLine> {
        self.lines
            .iter()
            .enumerate()
            .map(|(i, line)| KeyedLine {
                key: self
                    .keys
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("{i:020}")),
                line: line.clone(),
            })
            .collect()
    }

    /// Lines matched by id or key whose comparison item has another
    /// description: worth a look, the match may not be the same item.
    pub fn other_item_lines(&self) -> usize {
        self.totals.other_items
    }

    /// The warning for [`OrdersReport::other_item_lines`], if any, with
    /// tenants named as `catalog` names them.
    pub fn other_item_note(&self, catalog: &TenantCatalog) -> Option<String> {
        let count = self.other_item_lines();
        let rule = self.item_rule.as_ref()?;
        let compare = catalog.label(self.compare_tenant.as_deref()?);
        let compare = crate::text::sanitize(&compare).into_owned();
        (count > 0).then(|| {
            let lines = if count == 1 { "line" } else { "lines" };
            format!(
                "{count} {lines} matched by {} name another item at {compare}",
                crate::text::sanitize(rule.rule.name())
            )
        })
    }

    /// From the server's rows, in order.
    pub fn from_raw(
        tenant: String,
        compare_tenant: Option<String>,
        rows: Vec<RawOrderLine>,
    ) -> OrdersReport {
        let lines = rows.into_iter().map(OrderLine::from_raw).collect();
        OrdersReport::new(tenant, compare_tenant, lines)
    }

    /// Comparison minus own, like for like; unknown when nothing compares.
    pub fn difference(&self) -> Value {
        self.totals.compare_total.minus(&self.totals.compared_total)
    }

    /// Why the own total is unknown: "1 line without a price",
    /// "2 lines without a total" (mixed reasons).
    pub fn total_gap(&self) -> Option<String> {
        self.totals.gap.clone()
    }

    /// How partial the comparison is, when it is: "1 of 2 lines, 1 item
    /// not sold by client3", or "no item sold by client3" when nothing
    /// compares.
    pub fn compare_note(&self, catalog: &TenantCatalog) -> Option<String> {
        let compare = catalog.label(self.compare_tenant.as_deref()?);
        let compare = crate::text::sanitize(&compare).into_owned();
        if let Some(why) = &self.compare_error {
            return Some(format!("no comparison with {compare}: {why}"));
        }
        let lines = self.totals.lines;
        if lines == 0 || self.totals.compared_lines == lines {
            return None;
        }
        let not_sold = (self.totals.compare_missing).saturating_sub(self.totals.compare_unpriced);
        if not_sold == lines {
            return Some(format!("no item sold by {compare}"));
        }
        if self.totals.compared_lines == 0 {
            return Some(format!(
                "no line priced by both {} and {compare}",
                crate::text::sanitize(&catalog.label(&self.tenant))
            ));
        }
        let mut why = Vec::new();
        if not_sold > 0 {
            why.push(format!("{} not sold by {compare}", count_lines(not_sold)));
        }
        let unpriced = self.totals.compare_unpriced;
        if unpriced > 0 {
            why.push(format!(
                "{} without a price at {compare}",
                crate::text::thousands(unpriced as i64)
            ));
        }
        // The lines the comparison prices but that are not compared: one
        // reason a line, so the parts add up to the lines not compared (a
        // line not sold there that lacks an own total too was counted
        // twice: "1 of 4 lines, 3 not sold, 1 without an own total").
        let uncompared =
            (lines - self.totals.compared_lines).saturating_sub(self.totals.compare_missing);
        // Of those, the ones without an own total; the rest have one, and
        // the comparison's total is what is missing (a product past what
        // is shown).
        let own = self.totals.priced_own_gaps.min(uncompared);
        for (count, side) in [
            (own, "an own total".to_string()),
            (uncompared - own, format!("a total at {compare}")),
        ] {
            if count > 0 {
                why.push(format!(
                    "{} without {side}",
                    crate::text::thousands(count as i64)
                ));
            }
        }
        Some(format!(
            "{} of {}, {}",
            crate::text::thousands(self.totals.compared_lines as i64),
            count_lines(lines),
            why.join(", ")
        ))
    }
}

/// The totals of order lines added one at a time, none of them held:
/// [`OrdersReport::new`]'s over the lines in hand, and the CLI's stream's
/// over the lines as they go by ([`Database::stream_orders`]).
#[derive(Debug, Clone, Default)]
pub struct LinesTotals {
    /// A comparison tenant was asked for.
    compare: bool,
    lines: usize,
    total: Sum,
    compare_total: Sum,
    compared_total: Sum,
    compared_lines: usize,
    compare_missing: usize,
    compare_unpriced: usize,
    own_gaps: usize,
    priced_own_gaps: usize,
    /// The first line without a total: why (see [`OrderLine::gap`]).
    first_gap: Option<String>,
    /// Every line without a total has the first one's reason.
    gaps_alike: bool,
    other_items: usize,
}

impl LinesTotals {
    pub fn new(compare: bool) -> LinesTotals {
        LinesTotals {
            compare,
            ..LinesTotals::default()
        }
    }

    pub fn add(&mut self, line: &OrderLine) {
        self.lines += 1;
        self.total.add(&line.total);
        if line.compared() {
            self.compared_lines += 1;
            self.compare_total.add(&line.compare_total);
            self.compared_total.add(&line.total);
        }
        if !line.compare_unit_price.is_number() {
            self.compare_missing += 1;
            if line.compare_matched {
                self.compare_unpriced += 1;
            }
        }
        if let Some(gap) = line.gap() {
            self.own_gaps += 1;
            if line.compare_unit_price.is_number() {
                self.priced_own_gaps += 1;
            }
            match &self.first_gap {
                None => {
                    self.first_gap = Some(gap);
                    self.gaps_alike = true;
                }
                Some(first) => self.gaps_alike &= *first == gap,
            }
        }
        if line.names_another_item() {
            self.other_items += 1;
        }
    }

    /// The totals of the lines added: the sums exact, unknown over a gap;
    /// the like-for-like ones only with a comparison and a line it prices.
    pub fn totals(&self) -> OrdersTotals {
        let both = self.compare && self.compared_lines > 0;
        let compared = |sum: &Sum| if both { sum.value() } else { Value::Missing };
        OrdersTotals {
            lines: self.lines,
            total: self.total.value(),
            compare_total: compared(&self.compare_total),
            compared_total: compared(&self.compared_total),
            compared_lines: self.compared_lines,
            compare_missing: if self.compare {
                self.compare_missing
            } else {
                0
            },
            compare_unpriced: if self.compare {
                self.compare_unpriced
            } else {
                0
            },
            own_gaps: self.own_gaps,
            priced_own_gaps: if self.compare {
                self.priced_own_gaps
            } else {
                0
            },
            gap: self
                .first_gap
                .as_deref()
                .and_then(|first| gap_words(self.own_gaps, first, self.gaps_alike)),
            other_items: self.other_items,
        }
    }
}

/// "`count` lines `first`" when every gap is alike, else "… without a total".
pub(super) fn gap_words(count: usize, first: &str, alike: bool) -> Option<String> {
    if count == 0 {
        return None;
    }
    let lines = count_lines(count);
    Some(if alike {
        format!("{lines} {first}")
    } else {
        format!("{lines} without a total")
    })
}

/// "1 line", "10,000 lines".
fn count_lines(count: usize) -> String {
    let noun = if count == 1 { "line" } else { "lines" };
    format!("{} {noun}", crate::text::thousands(count as i64))
}

/// The comparison tenant actually used for a user.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareChoice {
    pub tenant: Option<String>,
    /// The requested tenant was the user's own, so the next one is used.
    pub replaced_own: bool,
}

/// Picks the comparison tenant: the requested one if it exists and is not
/// the user's own (then the next tenant in the catalogue's order), else
/// the first other tenant in that order.
pub fn choose_compare_tenant(
    catalog: &TenantCatalog,
    own: Option<&str>,
    requested: Option<&str>,
) -> Result<CompareChoice, DbError> {
    match requested {
        Some(requested) if !catalog.contains(requested) => Err(catalog.unknown(requested)),
        Some(requested) if Some(requested) == own => Ok(CompareChoice {
            tenant: catalog.step(Some(requested), false, own),
            replaced_own: true,
        }),
        Some(requested) => Ok(CompareChoice {
            tenant: Some(requested.to_string()),
            replaced_own: false,
        }),
        None => Ok(CompareChoice {
            tenant: catalog.step(None, false, own),
            replaced_own: false,
        }),
    }
}

impl Database {
    /// Why `tenant` is not in the catalog: no such schema, a missing table,
    /// or no tenant's (both tables there, or a schema never a tenant's):
    /// [`DbError::UnknownTenant`].
    pub(super) async fn why_not_a_tenant(
        &self,
        conn: &mut sqlx::PgConnection,
        tenant: &str,
    ) -> DbError {
        let model = &self.tables.model;
        if model.schemas.never_a_tenant(tenant) {
            return DbError::UnknownTenant(tenant.to_string());
        }
        let tables: Result<Option<Vec<String>>, sqlx::Error> = sqlx::query_scalar(concat!(
            "SELECT array(SELECT c.relname::text FROM pg_catalog.pg_class c
                           WHERE c.relnamespace = n.oid AND c.relname IN ($2, $3)
                             AND c.relkind IN ",
            crate::model::table_kinds!(),
            ")
               FROM pg_catalog.pg_namespace n WHERE n.nspname = $1",
        ))
        .bind(tenant)
        .bind(&model.items.table)
        .bind(&model.orders.table)
        .persistent(self.persistent())
        .fetch_optional(conn)
        .await;
        match tables {
            Ok(None) => DbError::TenantNotFound(tenant.to_string()),
            Ok(Some(tables)) => {
                let missing = [&model.items.table, &model.orders.table]
                    .into_iter()
                    .find(|t| !tables.iter().any(|have| have == *t));
                match missing {
                    Some(table) => DbError::TenantTableMissing {
                        tenant: tenant.to_string(),
                        table: table.to_string(),
                    },
                    // Both tables, but no tenant's (a registry lists it not).
                    None => DbError::UnknownTenant(tenant.to_string()),
                }
            }
            Err(e) => self.error(e),
        }
    }

    /// The quoted schemas of `tenant` and `compare`, if both are tenant
    /// schemas (see [`super::tenancy::Names::has_tenant_tables`]); else why not.
    async fn tenant_schemas(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant: &str,
        compare: Option<&str>,
    ) -> Result<(String, Option<String>), DbError> {
        let wanted: Vec<&str> = std::iter::once(tenant).chain(compare).collect();
        let found = self
            .quoted_tenants(tx, &wanted)
            .await
            .map_err(|e| self.error(e))?;
        let quoted = |name: &str| {
            found
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, q)| q.clone())
        };
        let Some(own) = quoted(tenant) else {
            // The user's own tenant, never typed: no usage error.
            return Err(match self.why_not_a_tenant(tx, tenant).await {
                DbError::UnknownTenant(tenant) => DbError::TenantNotFound(tenant),
                why => why,
            });
        };
        match compare {
            Some(name) => match quoted(name) {
                Some(schema) => Ok((own, Some(schema))),
                None => Err(DbError::UnknownTenant(name.to_string())),
            },
            None => Ok((own, None)),
        }
    }

    /// The user's priced orders in their tenant schema, with `compare`'s
    /// price for the same item (matched by id, else by exact description).
    pub async fn priced_orders(
        &self,
        user: &User,
        compare: Option<&str>,
    ) -> Result<OrdersReport, DbError> {
        self.priced_orders_tracked(user, compare, None).await
    }

    /// `read` over `plan`; where it fails with a comparison in it and then
    /// succeeds without one, the comparison was at fault (its items view
    /// fails at run time): the own lines stand, and
    /// the plan returned says why there is no comparison, as a comparison
    /// refused beforehand does. `read` boxes its future, as
    /// [`Database::retried_stream`]'s does.
    pub(super) async fn read_or_own<A, T>(
        &self,
        plan: OrdersPlan,
        mut args: A,
        read: impl for<'r> Fn(&'r Self, &'r OrdersPlan, &'r mut A) -> PlanRead<'r, T>,
    ) -> Result<(T, OrdersPlan), DbError> {
        match read(self, &plan, &mut args).await {
            Ok(done) => Ok((done, plan)),
            Err(error) => {
                let Some(own) = plan.without_compare(&error) else {
                    return Err(error);
                };
                match read(self, &own, &mut args).await {
                    Ok(done) => {
                        // Pages, totals and later reads leave it out from
                        // the start, and say so alike (until a refresh).
                        if let (Some(other), Some(why)) = (&plan.compare_used, &own.compare_error) {
                            self.item_rule_cache.mark_unreadable(other, why);
                        }
                        Ok((done, own))
                    }
                    Err(again) if again.retryable() => Err(again),
                    Err(_) => Err(error),
                }
            }
        }
    }

    /// [`Database::priced_orders`], cancellable on the server through `handle`.
    pub async fn priced_orders_tracked(
        &self,
        user: &User,
        compare: Option<&str>,
        handle: Option<&QueryHandle>,
    ) -> Result<OrdersReport, DbError> {
        self.retried(|| async move {
            self.counters.orders.fetch_add(1, Ordering::Relaxed);
            let plan = self.orders_plan(user, compare, handle).await?;
            let (lines, plan) = self
                .read_or_own(plan, handle, |db, plan, handle| {
                    Box::pin(db.orders_lines(plan, LinesRead::All, *handle))
                })
                .await?;
            let lines = lines.into_iter().map(|(_, line)| line).collect();
            Ok(plan.report(lines, Vec::new()))
        })
        .await
    }

    /// Who and what an orders read is about: the user's tenant, how the
    /// comparison tenant's items match (decided before the read: at most
    /// one statement per pair and session, cached after), or why there
    /// is no comparison. A comparison tenant that cannot be read (locked,
    /// a configured key column missing, no price column) leaves the own
    /// prices standing.
    pub(super) async fn orders_plan(
        &self,
        user: &User,
        compare: Option<&str>,
        handle: Option<&QueryHandle>,
    ) -> Result<OrdersPlan, DbError> {
        if let Some(id) = user.unmapped_id() {
            return Err(DbError::UnmappedTenant(id.to_string()));
        }
        let tenant = match user.tenant.as_deref() {
            None => return Err(DbError::NoTenant { null: true }),
            Some("") => return Err(DbError::NoTenant { null: false }),
            Some(tenant) => tenant,
        };
        // The shared schema (its stray copies of the tenant tables, which
        // `health` reports), the system's and the ignored ones are no
        // tenant, whatever tables they hold: `public.orders` was priced as
        // the orders of a user whose id names `public`.
        let schemas = &self.tables.model.schemas;
        if schemas.never_a_tenant(tenant) {
            return Err(DbError::TenantNotFound(tenant.to_string()));
        }
        if let Some(other) = compare.filter(|c| schemas.never_a_tenant(c)) {
            return Err(DbError::UnknownTenant(other.to_string()));
        }
        let mut compare_error = None;
        let unreadable = compare.and_then(|other| self.item_rule_cache.unreadable(other));
        let rule = match compare {
            Some(_) if unreadable.is_some() => {
                compare_error = unreadable;
                None
            }
            Some(other) => {
                let pair = (tenant, quote_ident(tenant));
                let theirs = (other, quote_ident(other));
                match self
                    .item_rule((pair.0, &pair.1), (theirs.0, &theirs.1), handle)
                    .await?
                {
                    Ok(choice) => match self.items_lack(other).await? {
                        None => Some(choice),
                        Some(why) => {
                            compare_error = Some(why);
                            None
                        }
                    },
                    Err(why) => {
                        // A schema that is not a tenant is the real story.
                        let mut tx = self.read_tx().await?;
                        self.tenant_schemas(&mut tx, tenant, compare).await?;
                        Database::end_read(tx);
                        compare_error = Some(why.to_string());
                        None
                    }
                }
            }
            None => None,
        };
        Ok(OrdersPlan {
            user_id: user.id.clone(),
            tenant: tenant.to_string(),
            compare: compare.map(str::to_string),
            compare_used: rule.as_ref().and(compare).map(str::to_string),
            rule,
            compare_error,
        })
    }

    /// The quoted schemas an orders read names, how it joins the own
    /// items and whether the orders have ids (see [`Database::own_tables`]:
    /// one catalog lookup the first time per tenant). Without a registry a tenant is a schema holding both
    /// tables, which the query shows by running (a missing one fails it,
    /// and is explained then: see [`Database::orders_failed`]): no round
    /// trip to check first (a name that is never a tenant's is refused
    /// before: [`Database::orders_plan`]). A registry or `ignore_schemas`
    /// also says which schemas are tenants: that is checked first.
    pub(super) async fn orders_schemas(
        &self,
        tx: &mut sqlx::PgConnection,
        plan: &OrdersPlan,
    ) -> Result<OrdersSchemas, DbError> {
        let (own, compare) = if self.tables.names.tenant_filter.is_empty() {
            (
                quote_ident(&plan.tenant),
                plan.compare_used.as_deref().map(quote_ident),
            )
        } else {
            self.tenant_schemas(tx, &plan.tenant, plan.compare_used.as_deref())
                .await?
        };
        let (own_items, order_ids) = self
            .own_tables(tx, &plan.tenant)
            .await
            .map_err(|e| self.error(e))?;
        Ok(OrdersSchemas {
            own,
            compare,
            own_items,
            order_ids,
        })
    }

    /// What a failed orders read means: a tenant that is not one (its
    /// schema or a table gone), else the error, naming the node it came
    /// from on Citus.
    pub(super) async fn orders_failed(&self, plan: &OrdersPlan, e: sqlx::Error) -> DbError {
        let checked = !self.tables.names.tenant_filter.is_empty();
        if !checked && is_missing_relation(&e) {
            let mut tx = match self.read_tx().await {
                Ok(tx) => tx,
                Err(error) => return error,
            };
            return match self
                .tenant_schemas(&mut tx, &plan.tenant, plan.compare.as_deref())
                .await
            {
                Err(why) => why,
                Ok(_) => self.error(e),
            };
        }
        // A column the read names is not there: said of the table, not of
        // the query's aliases ("column i.price does not exist", with a
        // hint naming another alias's column).
        if is_missing_column(&e) {
            if let Ok(Some(why)) = self.items_lack(&plan.tenant).await {
                return DbError::Query(why);
            }
        }
        let tenants: Vec<&str> = std::iter::once(plan.tenant.as_str())
            .chain(plan.compare_used.as_deref())
            .collect();
        self.on_tenant_nodes(&tenants, self.error(e)).await
    }

    /// The orders query over the plan's tenants (`schemas`: quoted), with
    /// the comparison's prices beside them: the comparison items are
    /// joined on the key (see [`Database::match_sql`]), so the cost grows
    /// with lines plus items, never their product. `read` says which
    /// lines: all, or a keyset page (the page's orders are chosen first,
    /// by the order key alone, and only they are joined).
    pub(super) fn orders_sql(
        &self,
        schemas: &OrdersSchemas,
        plan: &OrdersPlan,
        read: LinesRead,
    ) -> String {
        let (ctes, select) = self.orders_parts(schemas, plan, read);
        match ctes {
            Some(ctes) => format!("WITH {ctes}\n{select}"),
            None => select,
        }
    }

    /// [`Database::orders_sql`] in two parts: the comparison's CTEs (if
    /// any), and the SELECT of the lines (columns `key`, `item_id`,
    /// `item`, `quantity`, `unit_price`, `compare_price`, `compare_id`,
    /// `compare_item`, `compare_matched`, `compare_ambiguous`, `ambiguous`).
    ///
    /// Each order is one line: the own items are joined one per id (see
    /// [`Database::own_items_sql`]). Where the order's id names several
    /// different own items, `ambiguous` counts them and `unit_price` is
    /// NULL (no one of them is the price; the line says why).
    pub(super) fn orders_parts(
        &self,
        schemas: &OrdersSchemas,
        plan: &OrdersPlan,
        read: LinesRead,
    ) -> (Option<String>, String) {
        let n = &self.tables.names;
        let own = &schemas.own;
        // Which of the user's orders, in what order, with what key (see
        // [`super::orders_window::Keyset`]): a page's orders are chosen
        // first, and only they are joined.
        let keyset = super::orders_window::Keyset::of(read, schemas.order_ids);
        let inner = keyset.inner(&format!("{own}.{}", n.orders), &n.order_user);
        let (ctes, join, columns) = match schemas.compare.as_deref().zip(plan.rule.as_ref()) {
            Some((schema, choice)) => {
                let own_keys: Vec<String> = choice
                    .rule
                    .keys()
                    .iter()
                    .map(|key| match (key, &choice.rule) {
                        // `items_match = "id"`: ids name one catalogue's
                        // items, so a deleted own item still matches by the
                        // order's own reference. Not under auto's
                        // id_or_description, which checked only the ids the
                        // own tenant still has: a deleted item's id may
                        // name another item there.
                        (ItemRule::Id, ItemRule::Id) => format!("o.{}::text", n.order_item),
                        (key, _) => self.item_key(key, "i"),
                    })
                    .collect();
                // A page's keys, read again (an index range): the comparison
                // sorts only its items. Every line, or a page through a view
                // (its page numbers every line), is read once: the whole
                // catalogue is sorted (a second read of the lines cost more).
                let wanted = matches!(read, LinesRead::Page(..)).then(|| {
                    format!(
                        "({inner}) o LEFT JOIN {own}.{items} i
                               ON i.{item_id}::text = o.{order_item}::text",
                        items = n.items,
                        item_id = n.item_id,
                        order_item = n.order_item,
                    )
                });
                let (ctes, joins, column, found) =
                    self.match_sql(schema, &choice.rule, &own_keys, wanted.as_deref());
                let columns = format!(
                    "{} AS compare_price, {} AS compare_id, {} AS compare_item, \
                     {found} AS compare_matched, {} AS compare_ambiguous",
                    column("price"),
                    column("id"),
                    column("item"),
                    column("ambiguous")
                );
                (Some(ctes), joins, columns)
            }
            None => (
                None,
                String::new(),
                "NULL::text AS compare_price, NULL::text AS compare_id, \
                 NULL::bytea AS compare_item, false AS compare_matched, \
                 NULL::bool AS compare_ambiguous"
                    .to_string(),
            ),
        };
        let (items, ambiguous) = self.own_items_sql(own, schemas.own_items);
        let select = format!(
            "SELECT {key} AS key, o.{order_item}::text AS item_id, {item} AS item,
                    {quantity} AS quantity,
                    CASE WHEN {ambiguous} IS NULL THEN {price} END AS unit_price, {columns},
                    {ambiguous} AS ambiguous
               FROM ({inner}) o
               LEFT JOIN {items} i ON i.{item_id}::text = o.{order_item}::text
               {join}
              {order_by}",
            key = keyset.key,
            order_by = keyset.outer_order,
            item_id = n.item_id,
            order_item = n.order_item,
            quantity = exact_text(&format!("o.{}", n.order_quantity)),
            price = exact_text(&format!("i.{}", n.item_price)),
            // A description that is not UTF-8 (SQL_ASCII) is shown lossily.
            item = raw(&format!("i.{}", n.item_label)),
        );
        (ctes, select)
    }
}

/// Which order lines an orders query reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum LinesRead<'a> {
    /// Every line, in order.
    All,
    /// Every line, in no order (an aggregate over them).
    Unordered,
    /// A keyset page of at most this many lines (backwards for `Last` and
    /// `Before`: the caller puts them back in order), keyed by the order
    /// id and the row's place in its table (see
    /// [`super::orders_window::Keyset`]).
    Page(&'a Page<String>, i64),
    /// [`LinesRead::Page`] for an orders relation without row places (a
    /// view): keyed by the line's position among the user's lines.
    PositionPage(&'a Page<String>, i64),
}

/// The quoted schemas an orders read names, how it joins the own items,
/// and whether the own orders have ids (see [`Database::orders_schemas`]).
#[derive(Debug, Clone)]
pub(super) struct OrdersSchemas {
    pub own: String,
    pub compare: Option<String>,
    pub own_items: OwnItems,
    pub order_ids: OrderIds,
}

/// One read over an orders plan, for [`Database::read_or_own`].
pub(super) type PlanRead<'r, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, DbError>> + Send + 'r>>;

/// Who and what an orders read is about (see [`Database::orders_plan`]).
#[derive(Debug, Clone)]
pub(super) struct OrdersPlan {
    pub user_id: String,
    pub tenant: String,
    /// The comparison tenant asked for.
    pub compare: Option<String>,
    /// The comparison tenant read: the one asked for, unless it cannot be.
    pub compare_used: Option<String>,
    pub rule: Option<RuleChoice>,
    pub compare_error: Option<String>,
}

impl OrdersPlan {
    /// This plan without its comparison, where `error` (a read of it
    /// failed) may be the comparison's: a statement the server refuses
    /// every time (a lost session or a lock is run again as it is).
    fn without_compare(&self, error: &DbError) -> Option<OrdersPlan> {
        self.compare_used.as_ref()?;
        let why = match error {
            DbError::Server { message, .. } if !error.retryable() => message.clone(),
            _ => return None,
        };
        Some(OrdersPlan {
            compare_used: None,
            rule: None,
            compare_error: Some(format!("its items could not be read: {why}")),
            ..self.clone()
        })
    }

    /// A report of `lines` (all of the user's), or with `keys` a first page.
    pub fn report(&self, lines: Vec<RawOrderLine>, keys: Vec<String>) -> OrdersReport {
        let mut report = OrdersReport::from_raw(self.tenant.clone(), self.compare.clone(), lines);
        report.item_rule = self.rule.clone();
        report.compare_error = self.compare_error.clone();
        report.keys = keys;
        report
    }
}

/// One row of the orders query (see [`Database::orders_sql`]): the order
/// key, item id, item, quantity, unit price, and the comparison's price,
/// item id and item, whether an item matched there and whether its key
/// names items of different prices there, and how many different own items
/// the item id names where that is more than one.
pub(super) type OrderRow = (
    String,
    Option<String>,
    Option<LossyText>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<LossyText>,
    bool,
    Option<bool>,
    Option<i64>,
);

/// The order key and the line of a row.
pub(super) fn raw_line(row: OrderRow) -> (String, RawOrderLine) {
    let (
        key,
        item_id,
        item,
        quantity,
        unit_price,
        compare_unit_price,
        compare_item_id,
        compare_item,
        compare_matched,
        compare_ambiguous,
        ambiguous,
    ) = row;
    let invalid_utf8 = [&item, &compare_item]
        .into_iter()
        .filter(|text| text.as_ref().is_some_and(|t| t.replaced))
        .count() as u8;
    (
        key,
        RawOrderLine {
            item_id,
            item: item.map(|i| i.text),
            quantity,
            unit_price,
            compare_unit_price,
            compare_item_id,
            compare_item: compare_item.map(|i| i.text),
            compare_matched,
            compare_ambiguous,
            ambiguous,
            invalid_utf8,
        },
    )
}

/// The query names a column that is not there (SQLSTATE 42703).
fn is_missing_column(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("42703"))
}

/// The query names a schema or table that is not there (SQLSTATE 3F000,
/// 42P01): the tenant's schema is gone or lacks a table.
fn is_missing_relation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("3F000" | "42P01")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts in the total's gap are grouped as every count is: the note
    /// below the same table said `(2,400 lines)` beside `2400 lines …`.
    #[test]
    fn a_gaps_count_is_grouped_by_thousands() {
        let gap = |count, alike| gap_words(count, "without a price", alike);
        assert_eq!(gap(0, true), None);
        assert_eq!(gap(1, true).as_deref(), Some("1 line without a price"));
        assert_eq!(
            gap(2_400, true).as_deref(),
            Some("2,400 lines without a price")
        );
        assert_eq!(
            gap(1_000_000, false).as_deref(),
            Some("1,000,000 lines without a total")
        );
    }

    fn raw(id: &str, qty: &str, price: Option<&str>, compare: Option<&str>) -> RawOrderLine {
        RawOrderLine {
            item_id: Some(id.into()),
            item: Some(format!("item {id}")),
            quantity: Some(qty.into()),
            unit_price: price.map(str::to_string),
            compare_unit_price: compare.map(str::to_string),
            ..Default::default()
        }
    }

    fn plain(value: &Value) -> Option<String> {
        value.plain()
    }

    /// Tenant a's lines, compared with tenant b's prices.
    fn a_beside_b(lines: Vec<RawOrderLine>) -> OrdersReport {
        OrdersReport::from_raw("a".into(), Some("b".into()), lines)
    }

    /// Worked by hand: 3 × 19.99 = 59.97 and 2.5 × 20.00 = 50.000, shown at
    /// the price's scale as 50.00; b sells only the second item, at 18.
    #[test]
    fn totals_compare_like_for_like() {
        let report = a_beside_b(vec![
            raw("1", "3", Some("19.99"), None),
            raw("2", "2.500", Some("20.00"), Some("18")),
        ]);
        assert_eq!(plain(&report.lines[0].total).as_deref(), Some("59.97"));
        assert_eq!(
            report.lines[0].compare_total,
            Value::Missing,
            "not sold there: no price, not zero"
        );
        assert_eq!(report.lines[0].difference(), Value::Missing);
        assert_eq!(plain(&report.lines[1].quantity).as_deref(), Some("2.5"));
        assert_eq!(plain(&report.lines[1].total).as_deref(), Some("50.00"));
        assert_eq!(plain(&report.lines[1].compare_total).as_deref(), Some("45"));
        assert_eq!(plain(&report.totals.total).as_deref(), Some("109.97"));
        assert_eq!(
            plain(&report.totals.compared_total).as_deref(),
            Some("50.00")
        );
        assert_eq!(plain(&report.totals.compare_total).as_deref(), Some("45"));
        assert_eq!(plain(&report.difference()).as_deref(), Some("-5.00"));
        assert_eq!(
            (report.totals.compared_lines, report.totals.compare_missing),
            (1, 1)
        );
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("1 of 2 lines, 1 line not sold by b")
        );
        assert_eq!(report.total_gap(), None);
    }

    /// Each line not compared is counted under one reason: a line the
    /// comparison does not sell that has no own price either is "not
    /// sold", not also "without an own total" (the parts added up to 5 of
    /// 4 lines).
    #[test]
    fn compare_note_counts_each_line_once() {
        let report = a_beside_b(vec![
            raw("1", "1", Some("5"), Some("4")),
            raw("2", "1", None, None),
            raw("3", "1", Some("5"), None),
            raw("4", "1", Some("5"), None),
            raw("5", "1", None, Some("4")),
        ]);
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("1 of 5 lines, 3 lines not sold by b, 1 without an own total")
        );
        // Every own total known: a line priced there without a total there
        // (a sum past what is shown) is said of the comparison, not of the
        // own side ("1 without an own total" beside an own total of 2).
        let nines = format!("9{}", "0".repeat(999));
        let report = a_beside_b(vec![
            raw("1", "1", Some("5"), Some("4")),
            raw("2", "2", Some("1"), Some(&nines)),
        ]);
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("1 of 2 lines, 1 without a total at b")
        );
        // Both at once: a line not sold there without an own price, and a
        // line whose total there is past what is shown, are each said of
        // their own side (both were "without an own total").
        let report = a_beside_b(vec![
            raw("1", "1", Some("5"), Some("4")),
            raw("2", "1", None, None),
            raw("3", "2", Some("1"), Some(&nines)),
            raw("4", "1", Some("NaN"), Some("4")),
        ]);
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("1 of 4 lines, 1 line not sold by b, 1 without an own total, 1 without a total at b")
        );
    }

    #[test]
    fn compare_note_groups_thousands_and_counts_lines() {
        let lines = (0..100_000)
            .map(|i| {
                let id = i.to_string();
                let compare = (i >= 10_000).then_some("1");
                raw(&id, "1", Some("2"), compare)
            })
            .collect();
        let report = OrdersReport::from_raw("a".into(), Some("client3".into()), lines);
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("90,000 of 100,000 lines, 10,000 lines not sold by client3")
        );
    }

    #[test]
    fn a_line_without_a_total_makes_the_total_unknown() {
        let report = a_beside_b(vec![
            raw("1", "3", Some("NaN"), Some("1")),
            raw("2", "1", Some("20.00"), None),
        ]);
        assert_eq!(
            report.totals.total,
            Value::Missing,
            "never a sum over a gap"
        );
        assert_eq!(
            report.total_gap().as_deref(),
            Some("1 line with a price that is not a number (NaN)")
        );
        assert_eq!(report.totals.compare_total, Value::Missing);
        assert_eq!(report.difference(), Value::Missing);
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("no line priced by both a and b")
        );
        let none = OrdersReport::from_raw(
            "a".into(),
            None,
            vec![raw("1", "1", None, None), raw("2", "1", None, None)],
        );
        assert_eq!(none.total_gap().as_deref(), Some("2 lines without a price"));
        assert_eq!(
            (
                none.compare_note(&TenantCatalog::default()),
                none.totals.compare_missing
            ),
            (None, 0)
        );
    }

    #[test]
    fn compare_choice_never_own_tenant() {
        let catalog =
            TenantCatalog::new(vec!["client1".into(), "client2".into(), "client3".into()]);
        let pick = |own, requested| choose_compare_tenant(&catalog, own, requested).unwrap();
        assert_eq!(
            pick(Some("client1"), None).tenant.as_deref(),
            Some("client2")
        );
        assert_eq!(
            pick(Some("client2"), None).tenant.as_deref(),
            Some("client1")
        );
        let replaced = pick(Some("client2"), Some("client2"));
        assert_eq!(replaced.tenant.as_deref(), Some("client3"));
        assert!(replaced.replaced_own);
        assert_eq!(
            pick(Some("client1"), Some("client3")).tenant.as_deref(),
            Some("client3")
        );
        assert_eq!(
            choose_compare_tenant(&catalog, Some("client1"), Some("Client3")),
            Err(DbError::Setting(
                "unknown tenant: \"Client3\" (tenants: \"client3\", \"client1\", \"client2\")"
                    .into()
            ))
        );
    }
}
