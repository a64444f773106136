//! A user's basket (their order lines) priced at other tenants, a page of
//! tenants per statement.

use std::cmp::Ordering;

use serde::Serialize;

use super::item_match::{ItemMatch, ItemRule, RuleChoice};
use super::orders::OrderLine;
use super::sql::quote_ident;
use super::{Database, DbError, QueryHandle};
use crate::money::{Problem, Value};

/// Tenants priced per statement (and transaction), like the price matrix.
pub const BASKET_BATCH: usize = 200;

/// The basket at one tenant. Its total covers only the lines it prices
/// (`priced_lines`); the lines it lacks are counted, never summed as zero.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasketTenant {
    pub tenant: String,
    /// The sum of quantity × this tenant's price over the lines it prices;
    /// unknown when it prices none.
    pub total: Value,
    pub priced_lines: usize,
    pub missing_lines: usize,
    /// Why each of the `missing_lines` has no total here, by item
    /// (description, else id), in basket order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<LineGap>,
    /// Like for like: this tenant's total minus the user's own tenant's,
    /// over the lines both price; unknown when they share none.
    pub difference: Value,
    /// The lines `difference` covers (both tenants price them).
    pub compared_lines: usize,
    /// Why this tenant could not be read (its other fields are empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A basket line a tenant gives no total for, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineGap {
    /// The line's item: its description, else its id.
    pub item: String,
    pub why: GapReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapReason {
    /// The tenant sells no such item.
    NotSold,
    /// It sells the item at no usable price (NULL, NaN, unreadable).
    NoPrice,
    /// The own tenant, whose items table holds different items under the
    /// order's item id (see [`crate::money::Problem::Ambiguous`]), or
    /// another, where the line's key names items there at different
    /// prices ([`crate::money::Problem::AmbiguousMatch`]).
    Ambiguous,
    /// Its price is a number, but the line's own quantity is not.
    NoQuantity,
    /// Both are numbers, but the price or its product is too long to show.
    OutOfRange,
}

impl Serialize for GapReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl GapReason {
    /// In the order a note names them.
    const ALL: [GapReason; 5] = [
        GapReason::NotSold,
        GapReason::NoPrice,
        GapReason::Ambiguous,
        GapReason::NoQuantity,
        GapReason::OutOfRange,
    ];

    /// Its name in JSON and CSV.
    pub fn key(self) -> &'static str {
        match self {
            GapReason::NotSold => "not_sold",
            GapReason::NoPrice => "no_price",
            GapReason::Ambiguous => "ambiguous",
            GapReason::NoQuantity => "no_quantity",
            GapReason::OutOfRange => "out_of_range",
        }
    }

    /// How a note names the items of this reason: "lacks A, B".
    fn lead(self) -> &'static str {
        match self {
            GapReason::NotSold => "lacks",
            GapReason::NoPrice => "no price for",
            GapReason::Ambiguous => "ambiguous price for",
            GapReason::NoQuantity => "no quantity for",
            GapReason::OutOfRange => "total out of range for",
        }
    }
}

impl BasketTenant {
    fn failed(tenant: String, error: String, lines: usize) -> BasketTenant {
        BasketTenant {
            tenant,
            total: Value::Missing,
            priced_lines: 0,
            missing_lines: lines,
            gaps: Vec::new(),
            difference: Value::Missing,
            compared_lines: 0,
            error: Some(error),
        }
    }

    /// `lines` priced at `prices` (aligned; `None` where the tenant sells
    /// no such item), against the own tenant's totals.
    pub fn priced(tenant: String, lines: &[OrderLine], prices: &[Option<Value>]) -> BasketTenant {
        let totals: Vec<Value> = lines
            .iter()
            .zip(prices)
            .map(|(line, price)| match price {
                Some(price) => Value::line_total(&line.quantity, price),
                None => Value::Missing,
            })
            .collect();
        let priced: Vec<&Value> = totals.iter().filter(|t| t.is_number()).collect();
        let both: Vec<(&Value, &Value)> = totals
            .iter()
            .zip(lines)
            .filter(|(theirs, line)| theirs.is_number() && line.total.is_number())
            .map(|(theirs, line)| (theirs, &line.total))
            .collect();
        let sum_or_missing = |values: Vec<&Value>| {
            if values.is_empty() {
                Value::Missing
            } else {
                Value::sum(values)
            }
        };
        let theirs = sum_or_missing(both.iter().map(|(t, _)| *t).collect());
        let own = sum_or_missing(both.iter().map(|(_, o)| *o).collect());
        let gaps = lines
            .iter()
            .zip(prices)
            .zip(&totals)
            .filter(|(_, total)| !total.is_number())
            .map(|((line, price), _)| LineGap {
                item: line.own_item(),
                // In the order `OrderLine::gap` says them: the item, the
                // line's quantity (the same in every tenant), the price.
                why: match price {
                    None => GapReason::NotSold,
                    Some(_) if !line.quantity.is_number() => GapReason::NoQuantity,
                    Some(Value::Invalid(Problem::Ambiguous { .. } | Problem::AmbiguousMatch)) => {
                        GapReason::Ambiguous
                    }
                    // A number, too long to show: so is its total.
                    Some(Value::Invalid(Problem::OutOfRange)) => GapReason::OutOfRange,
                    Some(price) if !price.is_number() => GapReason::NoPrice,
                    Some(_) => GapReason::OutOfRange,
                },
            })
            .collect();
        BasketTenant {
            tenant,
            total: sum_or_missing(priced.clone()),
            priced_lines: priced.len(),
            missing_lines: lines.len() - priced.len(),
            gaps,
            // A side whose sum is past what is shown: that, not "unknown".
            difference: match theirs.problem().or(own.problem()) {
                Some(problem) => Value::Invalid(problem.clone()),
                None => theirs.minus(&own),
            },
            compared_lines: both.len(),
            error: None,
        }
    }
    /// Why lines have no total here, as the view and the CLI's table say
    /// it: `lacks A, B · no price for C`; `None` when every line has one.
    pub fn gaps_note(&self) -> Option<String> {
        let mut parts = Vec::new();
        for why in GapReason::ALL {
            // Each item once (it may be on several lines), the first few
            // by name: a note is one cell (JSON and CSV carry every gap).
            let mut items: Vec<&str> = Vec::new();
            for gap in self.gaps.iter().filter(|gap| gap.why == why) {
                if !items.contains(&gap.item.as_str()) {
                    items.push(&gap.item);
                }
            }
            if items.is_empty() {
                continue;
            }
            let more = items.len().saturating_sub(NOTE_ITEMS);
            let mut named = items[..items.len().min(NOTE_ITEMS)].join(", ");
            if more > 0 {
                named.push_str(&format!(
                    " and {} more",
                    crate::text::thousands(more as i64)
                ));
            }
            parts.push(format!("{} {named}", why.lead()));
        }
        (!parts.is_empty()).then(|| parts.join(" · "))
    }
}

/// How many items a gap note names before "and N more".
const NOTE_ITEMS: usize = 5;

/// Most lines priced first, then the lowest total, then in the order
/// `listed` has the tenants (the catalogue's, as every view lists them:
/// ties went by the schema's bytes, `Shop3` before `shop2`); tenants that
/// price none and those that could not be read last.
pub fn rank(tenants: &mut [BasketTenant], listed: &[String]) {
    let places: std::collections::HashMap<&str, usize> = listed
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let place = |t: &BasketTenant| places.get(t.tenant.as_str()).copied().unwrap_or(usize::MAX);
    tenants.sort_by(|a, b| {
        (a.error.is_some())
            .cmp(&b.error.is_some())
            .then_with(|| b.priced_lines.cmp(&a.priced_lines))
            .then_with(|| match (a.total.number(), b.total.number()) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| place(a).cmp(&place(b)))
            .then_with(|| a.tenant.cmp(&b.tenant))
    });
}

impl Database {
    /// `user`'s order lines priced at every tenant of `tenants`, page by
    /// page, ranked (the CLI's whole basket).
    pub async fn basket(
        &self,
        user: &crate::db::User,
        tenants: &[String],
    ) -> Result<(Vec<OrderLine>, Vec<BasketTenant>), DbError> {
        let lines = self.priced_orders(user, None).await?.lines;
        let own = user.tenant.as_deref().unwrap_or_default();
        let mut priced = Vec::with_capacity(tenants.len());
        if !lines.is_empty() {
            for page in tenants.chunks(BASKET_BATCH) {
                priced.extend(self.basket_prices(own, &lines, page, None).await?);
            }
        }
        rank(&mut priced, tenants);
        Ok((lines, priced))
    }

    /// `lines` (of tenant schema `own`) priced at each of `tenants` (at
    /// most [`BASKET_BATCH`] per statement). Items match as in the orders
    /// comparison: by the pair's [`super::ItemRule`], the lowest id in text
    /// order where several items share a key. The own tenant's column is
    /// the lines' own prices, as the orders read gave them (see
    /// `own_prices`), not read again. A statement the server refuses is
    /// retried one tenant at a time, so that a tenant that cannot be read
    /// is named and the others are still priced.
    pub async fn basket_prices(
        &self,
        own: &str,
        lines: &[OrderLine],
        tenants: &[String],
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<BasketTenant>, DbError> {
        self.retried(|| async move {
            if tenants.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = self.tracked_tx(handle).await?;
            let names: Vec<&str> = tenants.iter().map(String::as_str).collect();
            let found = self
                .quoted_tenants_on_nodes(&mut tx, &names)
                .await
                .map_err(|e| self.error(e))?;
            Database::end_read(tx);
            // A tenant gone since the list was read (a schema dropped) is
            // named as such; the others are priced. Citus: the node of each
            // tenant (by column), so that a node that is down or frozen
            // costs one failure for all its tenants.
            let mut quoted = Vec::with_capacity(tenants.len());
            let mut gone = Vec::new();
            let mut nodes = std::collections::HashMap::new();
            for tenant in tenants {
                let Some((_, schema, node)) = found.iter().find(|(name, ..)| name == tenant) else {
                    gone.push(BasketTenant::failed(
                        tenant.clone(),
                        crate::db::GONE.into(),
                        lines.len(),
                    ));
                    continue;
                };
                if let Some(node) = node {
                    nodes.insert(quoted.len(), node.clone());
                }
                quoted.push((tenant.as_str(), schema.as_str()));
            }
            let tenants: Vec<&str> = quoted.iter().map(|(tenant, _)| *tenant).collect();
            let own_quoted = quote_ident(own);
            let rules = self
                .others_rules((own, &own_quoted), &quoted, &nodes, handle)
                .await?;
            // Lines are bound as arrays: ids ($1), descriptions ($2), then the
            // own items' values of each key column a pair matches on ($3, …).
            let ids = bound_ids(lines, self.item_match() == ItemMatch::Id);
            let items: Vec<Option<&str>> = lines.iter().map(|l| l.item.as_deref()).collect();
            let key_columns = key_columns(&rules);
            let mut keys = Vec::with_capacity(key_columns.len());
            for column in &key_columns {
                keys.push(self.own_item_keys(&own_quoted, column, &ids).await?);
            }
            let arrays: String = (0..key_columns.len())
                .map(|at| format!(", ${}::text[]", at + 3))
                .collect();
            let array_names: String = (0..key_columns.len())
                .map(|at| format!(", k{at}"))
                .collect();
            let mut selects = Vec::new();
            let mut failed: Vec<Option<String>> = vec![None; tenants.len()];
            for (column, ((_, schema), rule)) in quoted.iter().zip(&rules).enumerate() {
                let rule = match rule {
                    None => continue,
                    Some(Ok(choice)) => &choice.rule,
                    Some(Err(error)) => {
                        failed[column] = Some(error.to_string());
                        continue;
                    }
                };
                let bound = (arrays.as_str(), array_names.as_str());
                let select = self.basket_select(column, schema, rule, &key_columns, bound);
                selects.push((column, select));
            }
            let keys: Vec<Vec<Option<&str>>> = keys
                .iter()
                .map(|k| k.iter().map(Option::as_deref).collect())
                .collect();
            let mut arrays: Vec<&[Option<&str>]> = vec![&ids, &items];
            arrays.extend(keys.iter().map(Vec::as_slice));
            // The page's tenants as one statement per connection the pool
            // can spare, side by side (one statement of 200 ran alone).
            let size = selects.len().div_ceil(self.batch_width()).max(1);
            let (rows, errors): (Vec<PriceCell>, _) = self
                .tenant_batches(&selects, size.min(BASKET_BATCH), &arrays, handle, &nodes)
                .await?;
            // A column the statement names and the table lacks is said of
            // the table, as `orders` says it (not "column ci.price does not
            // exist"); the catalog is read for failed tenants only.
            for (column, error) in errors {
                let lacks = match error.is_missing_column() {
                    true => self.items_lack(tenants[column]).await.ok().flatten(),
                    false => None,
                };
                failed[column] = Some(lacks.unwrap_or_else(|| error.to_string()));
            }
            let mut prices = prices_by_cell(rows, tenants.len(), lines.len());
            if let Some(column) = tenants.iter().position(|t| *t == own) {
                prices[column] = own_prices(lines);
            }
            if let Some(handle) = handle {
                handle.finished();
            }
            Ok(tenants
                .iter()
                .zip(prices)
                .zip(failed)
                .map(|((tenant, prices), error)| match error {
                    Some(error) => BasketTenant::failed(tenant.to_string(), error, lines.len()),
                    None => BasketTenant::priced(tenant.to_string(), lines, &prices),
                })
                .chain(gone)
                .collect())
        })
        .await
    }

    /// The item rule of each of `quoted` (tenants and their quoted
    /// schemas, by column) against `own`: `None` for the own tenant, which
    /// prices the lines as they were read (see `own_prices`); only the
    /// others are matched and queried.
    async fn others_rules(
        &self,
        own: (&str, &str),
        quoted: &[(&str, &str)],
        nodes: &std::collections::HashMap<usize, String>,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<Option<Result<RuleChoice, DbError>>>, DbError> {
        let others: Vec<usize> = (0..quoted.len())
            .filter(|&column| quoted[column].0 != own.0)
            .collect();
        let other_schemas: Vec<(&str, &str)> = others.iter().map(|&c| quoted[c]).collect();
        let other_nodes: std::collections::HashMap<usize, String> = others
            .iter()
            .enumerate()
            .filter_map(|(at, column)| Some((at, nodes.get(column)?.clone())))
            .collect();
        let mut rules: Vec<Option<Result<RuleChoice, DbError>>> =
            (0..quoted.len()).map(|_| None).collect();
        let other_rules = self
            .item_rules(own, &other_schemas, handle, &other_nodes)
            .await?;
        for (column, rule) in others.into_iter().zip(other_rules) {
            rules[column] = Some(rule);
        }
        Ok(rules)
    }

    /// The statement pricing the bound lines at tenant `column` (quoted
    /// `schema`) under `rule`: the lines are bound as arrays, ids ($1),
    /// descriptions ($2), then the own items' values of each of
    /// `key_columns` (`bound`: their array casts and names).
    fn basket_select(
        &self,
        column: usize,
        schema: &str,
        rule: &ItemRule,
        key_columns: &[&str],
        (arrays, array_names): (&str, &str),
    ) -> String {
        let own_keys: Vec<String> = rule
            .keys()
            .iter()
            .map(|key| match key {
                ItemRule::Description => "l.item".to_string(),
                ItemRule::Column(name) => {
                    let at = key_columns.iter().position(|c| c == name).unwrap_or(0);
                    format!("l.k{at}")
                }
                _ => "l.id".to_string(),
            })
            .collect();
        let lines = format!(
            "unnest($1::text[], $2::text[]{arrays}) WITH ORDINALITY AS l(id, item{array_names}, n)"
        );
        let (ctes, joins, matched, found) = self.match_sql(schema, rule, &own_keys, Some(&lines));
        // The schema is a server-quoted identifier; the lines are bound.
        format!(
            "(WITH {ctes}
              SELECT {column}::int4, l.n::int4, {price}, {found}, {ambiguous}
                FROM {lines}{joins})",
            price = matched("price"),
            ambiguous = matched("ambiguous"),
        )
    }

    /// The own items' values of key `column` for the lines' item `ids`:
    /// where an items table without a primary key holds several rows
    /// under an id, the one the orders read stands for it by (see
    /// [`Database::own_items_sql`]: the first in price, then description
    /// order).
    async fn own_item_keys(
        &self,
        own: &str,
        column: &str,
        ids: &[Option<&str>],
    ) -> Result<Vec<Option<String>>, DbError> {
        let names = &self.tables.names;
        let sql = format!(
            "SELECT l.n::int4, (SELECT i.{key}::text FROM {own}.{items} i
                                 WHERE i.{id}::text = l.id
                                 ORDER BY {standing} LIMIT 1)
               FROM unnest($1::text[]) WITH ORDINALITY AS l(id, n)",
            key = quote_ident(column),
            items = names.items,
            id = names.item_id,
            standing = self.standing_order("i"),
        );
        let mut tx = self.read_tx().await?;
        let rows: Vec<(i32, Option<String>)> = sqlx::query_as(&sql)
            .bind(ids)
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        Database::end_read(tx);
        let mut keys = vec![None; ids.len()];
        for (n, key) in rows {
            if let Some(slot) = usize::try_from(n - 1).ok().and_then(|n| keys.get_mut(n)) {
                *slot = key;
            }
        }
        Ok(keys)
    }
}

/// The own tenant's prices of `lines`: the ones the orders read gave them
/// (an item matched to itself by the pair's rule could be another row
/// than the order's own where the tenant's ids or keys repeat), so the
/// own column of the basket says what `orders` says, an ambiguous price
/// included; `None` where the order's item is missing.
fn own_prices(lines: &[OrderLine]) -> Vec<Option<Value>> {
    lines
        .iter()
        .map(|line| (!own_item_missing(line)).then(|| line.unit_price.clone()))
        .collect()
}

/// The lines' item ids as the basket binds them: a deleted own item keeps
/// its id only where ids name one catalogue's items (`items_match = "id"`,
/// as `orders` has it).
fn bound_ids(lines: &[OrderLine], by_order_id: bool) -> Vec<Option<&str>> {
    lines
        .iter()
        .map(|l| match by_order_id || !own_item_missing(l) {
            true => l.item_id.as_deref(),
            false => None,
        })
        .collect()
}

/// The order's item is not in the own tenant's items (any more).
fn own_item_missing(line: &OrderLine) -> bool {
    line.item.is_none() && line.unit_price == Value::Missing
}

/// The key columns the pairs' rules match on ([`ItemRule::Column`]), each
/// once.
fn key_columns(rules: &[Option<Result<RuleChoice, DbError>>]) -> Vec<&str> {
    let mut columns: Vec<&str> = Vec::new();
    for rule in rules.iter().flatten().flatten() {
        if let ItemRule::Column(column) = &rule.rule {
            if !columns.contains(&column.as_str()) {
                columns.push(column);
            }
        }
    }
    columns
}

/// One row of the batches: tenant column, line number from 1, the price
/// there, whether the tenant sells the line's item at all.
type PriceCell = (i32, i32, Option<String>, bool, Option<bool>);

/// The batches' rows placed in a tenant × line grid: `None` where the
/// tenant sells no such item (or no row fills the cell).
fn prices_by_cell(rows: Vec<PriceCell>, tenants: usize, lines: usize) -> Vec<Vec<Option<Value>>> {
    let mut prices = vec![vec![None; lines]; tenants];
    for (column, n, price, sold, ambiguous) in rows {
        let cell = usize::try_from(column)
            .ok()
            .zip(usize::try_from(n - 1).ok())
            .and_then(|(c, n)| prices.get_mut(c)?.get_mut(n));
        if let Some(cell) = cell {
            *cell = sold.then(|| Value::matched_price(price.as_deref(), ambiguous));
        }
    }
    prices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::RawOrderLine;

    fn line(id: &str, quantity: &str, price: &str) -> OrderLine {
        OrderLine::from_raw(RawOrderLine {
            item_id: Some(id.into()),
            item: Some(format!("item {id}")),
            quantity: Some(quantity.into()),
            unit_price: Some(price.into()),
            ..Default::default()
        })
    }

    /// The note names an item once however many lines order it, and the
    /// first five: it said "lacks Widget, Gadget, Gadget" and, for a user
    /// of 20,000 lines, every name in one table cell.
    #[test]
    fn a_gap_note_names_each_item_once_and_a_few_of_many() {
        let lines = [
            line("1", "1", "1"),
            line("1", "2", "1"),
            line("2", "1", "1"),
        ];
        let tenant = BasketTenant::priced("a".into(), &lines, &[None, None, None]);
        assert_eq!(tenant.gaps_note().as_deref(), Some("lacks item 1, item 2"));
        let many: Vec<OrderLine> = (1..=1002).map(|i| line(&i.to_string(), "1", "1")).collect();
        let tenant = BasketTenant::priced("a".into(), &many, &vec![None; many.len()]);
        assert_eq!(
            tenant.gaps_note().as_deref(),
            Some("lacks item 1, item 2, item 3, item 4, item 5 and 997 more")
        );
        assert_eq!(tenant.gaps.len(), 1002, "every gap is kept");
    }

    #[test]
    fn a_tenant_lacking_a_line_totals_what_it_prices_and_compares_like_for_like() {
        let lines = [line("1", "2", "10.00"), line("2", "3", "1.50")];
        let full = BasketTenant::priced(
            "a".into(),
            &lines,
            &[Some(Value::parse("9.99")), Some(Value::parse("2"))],
        );
        assert_eq!(full.total, Value::parse("25.98"));
        assert_eq!((full.priced_lines, full.missing_lines), (2, 0));
        assert_eq!(full.difference, Value::parse("1.48"), "25.98 - 24.50");
        let partial = BasketTenant::priced("b".into(), &lines, &[None, Some(Value::parse("1.25"))]);
        assert_eq!(
            partial.total,
            Value::parse("3.75"),
            "over the one line it sells"
        );
        assert_eq!((partial.priced_lines, partial.missing_lines), (1, 1));
        assert_eq!(partial.gaps_note().as_deref(), Some("lacks item 1"));
        assert_eq!(full.gaps_note(), None);
        assert_eq!(
            partial.difference,
            Value::parse("-0.75"),
            "3.75 - 4.50, not - 24.50"
        );
        let none = BasketTenant::priced("c".into(), &lines, &[None, None]);
        assert_eq!(
            (none.total.clone(), none.difference.clone()),
            (Value::Missing, Value::Missing)
        );
        let mut all = vec![none, partial, full];
        rank(&mut all, &[]);
        let order: Vec<&str> = all.iter().map(|t| t.tenant.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"], "coverage first, none last");
        // Ties in the catalogue's order (by bytes, `Shop3` came first).
        let tie = |tenant: &str| {
            BasketTenant::priced(tenant.into(), &lines, &[Some(Value::parse("1")), None])
        };
        let mut tied = vec![tie("shop10"), tie("Shop3"), tie("shop2")];
        let listed = ["shop2", "Shop3", "shop10"].map(String::from);
        rank(&mut tied, &listed);
        let order: Vec<&str> = tied.iter().map(|t| t.tenant.as_str()).collect();
        assert_eq!(order, listed);
    }

    /// The own column is the lines' own prices: an ambiguous one (the own
    /// items repeat the id with other prices) is no price there, said so.
    #[test]
    fn the_own_column_prices_the_lines_as_they_were_read() {
        let ambiguous = OrderLine::from_raw(RawOrderLine {
            item_id: Some("1".into()),
            item: Some("Tesla".into()),
            quantity: Some("1".into()),
            ambiguous: Some(2),
            ..Default::default()
        });
        let missing = OrderLine::from_raw(RawOrderLine {
            quantity: Some("2".into()),
            ..Default::default()
        });
        let lines = [line("2", "2", "1.50"), ambiguous, missing];
        let own = BasketTenant::priced("own".into(), &lines, &own_prices(&lines));
        assert_eq!(own.total, Value::parse("3.00"));
        assert_eq!((own.priced_lines, own.missing_lines), (1, 2));
        assert_eq!(own.difference, Value::parse("0.00"));
        assert_eq!(
            own.gaps_note().as_deref(),
            Some("lacks (missing item) · ambiguous price for Tesla")
        );
        assert_eq!(own.gaps[0].why.key(), "ambiguous");
    }

    #[test]
    fn a_line_without_a_total_says_whether_the_item_is_unsold_unpriced_or_its_quantity_unusable() {
        let mut no_quantity = line("3", "1", "4.00");
        no_quantity.quantity = Value::Missing;
        let lines = [line("1", "2", "10.00"), line("2", "3", "1.50"), no_quantity];
        let tenant = BasketTenant::priced(
            "t".into(),
            &lines,
            &[None, Some(Value::Missing), Some(Value::parse("4.00"))],
        );
        assert_eq!((tenant.priced_lines, tenant.missing_lines), (0, 3));
        assert_eq!(
            tenant.gaps_note().as_deref(),
            Some("lacks item 1 · no price for item 2 · no quantity for item 3")
        );
        let nan = BasketTenant::priced("n".into(), &lines[..1], &[Some(Value::parse("NaN"))]);
        assert_eq!(nan.gaps_note().as_deref(), Some("no price for item 1"));
        // A quantity that is no number and no price: the line's own fault
        // first, in every tenant's column, as the orders pane says it (the
        // own column said "no price", the others "no quantity").
        let unusable = [line("5", "NaN", "NULL")];
        assert!(unusable[0].gap().unwrap().starts_with("with a quantity"));
        for price in [Value::Missing, Value::parse("2.00")] {
            let tenant = BasketTenant::priced("q".into(), &unusable, &[Some(price)]);
            assert_eq!(
                tenant.gaps_note().as_deref(),
                Some("no quantity for item 5")
            );
        }
        // 600 nines times 600 nines: 1,200 digits, past what is shown.
        let nines = "9".repeat(600);
        let huge = [line("4", &nines, "1")];
        let too_long = BasketTenant::priced("h".into(), &huge, &[Some(Value::parse(&nines))]);
        assert_eq!(
            too_long.gaps_note().as_deref(),
            Some("total out of range for item 4")
        );
        // A price itself past what is shown (1,001 digits) is a number,
        // not "no price" (the orders pane says "out of range" of it).
        let price = Value::parse(&"9".repeat(1001));
        let priced = BasketTenant::priced("p".into(), &lines[..1], &[Some(price)]);
        assert_eq!(priced.gaps[0].why.key(), "out_of_range");
    }
}
