//! Item identity across tenants: which item of another tenant is "the same"
//! as one of the own tenant's.
//!
//! Frameworks number each tenant schema's items independently (an
//! IDENTITY or bigserial per schema): acme's item 1 is a Widget, globex's
//! item 1 a Sprocket. Only layouts that copy one catalogue into every
//! schema (the article's) share ids. So `items_match = "auto"` decides per
//! pair of tenants from their data: a natural-key column both items tables
//! have (`sku`, `item_code`, …) first; else, where the two catalogues agree
//! on ids (every id both have names the same item), the id and, for an item
//! the other tenant numbers differently, the exact description; else the
//! exact description alone. One statement per pair (a batch of pairs for the basket),
//! remembered until the tenant catalogue is read again.

use std::collections::HashMap;
use std::sync::Mutex;

use super::sql::{quote_ident, quote_literal};
use super::{Database, DbError, QueryHandle};

/// Columns that name an item the same way in every tenant, in the order
/// `auto` prefers them.
pub const KEY_COLUMNS: &[&str] = &[
    "sku",
    "item_code",
    "product_code",
    "article_number",
    "part_number",
    "code",
    "gtin",
    "ean",
    "upc",
];

/// The `items_match` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemMatch {
    /// Decided per pair of tenants from the data.
    Auto,
    Id,
    Description,
    /// An items column present in the tenants' items tables.
    Column(String),
}

impl ItemMatch {
    pub fn parse(setting: &str) -> ItemMatch {
        match (setting, crate::model::ItemsModel::column_of(setting)) {
            (_, Some(column)) => ItemMatch::Column(column.to_string()),
            ("id", _) => ItemMatch::Id,
            ("description", _) => ItemMatch::Description,
            _ => ItemMatch::Auto,
        }
    }

    /// The key columns to look for: the configured one, or `auto`'s list.
    fn candidates(&self) -> Vec<String> {
        match self {
            ItemMatch::Column(column) => vec![column.clone()],
            _ => KEY_COLUMNS.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// How one pair of tenants matches items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(into = "String")]
pub enum ItemRule {
    Id,
    #[default]
    Description,
    /// The unquoted column name.
    Column(String),
    /// The same id, else the same description: safe only where the
    /// catalogues agree on every id they share (`auto` checks).
    IdOrDescription,
}

impl ItemRule {
    /// "id", "description" or the column's name, for people.
    pub fn name(&self) -> &str {
        match self {
            ItemRule::Id => "id",
            ItemRule::Description => "description",
            ItemRule::Column(column) => column,
            ItemRule::IdOrDescription => "id_or_description",
        }
    }

    /// The keys tried in turn: the first that finds an item wins.
    pub fn keys(&self) -> Vec<ItemRule> {
        match self {
            ItemRule::IdOrDescription => vec![ItemRule::Id, ItemRule::Description],
            rule => vec![rule.clone()],
        }
    }
}

impl From<ItemRule> for String {
    fn from(rule: ItemRule) -> String {
        rule.name().to_string()
    }
}

/// A rule with the reason it was chosen, for `detect` and the detail popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleChoice {
    pub rule: ItemRule,
    pub why: String,
}

/// What one pair's catalogues say about each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Ids present in both items tables.
    pub shared_ids: i64,
    /// Of those, ids whose descriptions differ.
    pub conflicts: i64,
    /// Candidate key columns present in the own items table.
    pub own_keys: Vec<String>,
    /// … and in the other tenant's.
    pub other_keys: Vec<String>,
}

/// The rule for a pair of tenants under `setting`, from their `evidence`.
/// An error names a configured column one side lacks.
pub fn decide(
    setting: &ItemMatch,
    evidence: &Evidence,
    own: &str,
    other: &str,
) -> Result<RuleChoice, String> {
    let choice = |rule, why: String| Ok(RuleChoice { rule, why });
    match setting {
        ItemMatch::Id => choice(ItemRule::Id, "items_match = \"id\"".into()),
        ItemMatch::Description => choice(
            ItemRule::Description,
            "items_match = \"description\"".into(),
        ),
        ItemMatch::Column(column) => {
            let lacks = [(own, &evidence.own_keys), (other, &evidence.other_keys)]
                .into_iter()
                .find(|(_, keys)| !keys.contains(column));
            match lacks {
                Some((tenant, _)) => Err(format!(
                    "items_match = {}: the items table of {} has no such column",
                    crate::text::quoted(column),
                    crate::text::quoted(tenant)
                )),
                None => choice(
                    ItemRule::Column(column.clone()),
                    format!("items_match = {}", crate::text::quoted(column)),
                ),
            }
        }
        ItemMatch::Auto => {
            let common = KEY_COLUMNS.iter().find(|key| {
                evidence.own_keys.iter().any(|k| k == *key)
                    && evidence.other_keys.iter().any(|k| k == *key)
            });
            if let Some(key) = common {
                return choice(
                    ItemRule::Column(key.to_string()),
                    format!("both items tables have a {key} column"),
                );
            }
            if evidence.shared_ids > 0 && evidence.conflicts == 0 {
                return choice(
                    ItemRule::IdOrDescription,
                    format!(
                        "the catalogues agree on ids ({} shared, each the same item): by id, \
                         else by description",
                        evidence.shared_ids
                    ),
                );
            }
            let why = if evidence.shared_ids == 0 {
                "the catalogues share no item id".to_string()
            } else {
                format!(
                    "the catalogues number items independently ({} of {} shared ids name \
                     different items)",
                    evidence.conflicts, evidence.shared_ids
                )
            };
            choice(ItemRule::Description, why)
        }
    }
}

/// The key columns both `own` and `other` items tables have, in the order
/// `auto` prefers them.
fn common_keys<'k>(
    own: &'k [String],
    other: &'k [String],
) -> impl Iterator<Item = &'static str> + 'k {
    KEY_COLUMNS
        .iter()
        .copied()
        .filter(move |key| own.iter().any(|k| k == key) && other.iter().any(|k| k == key))
}

/// "the sku column names not every item; " where `auto` passed over key
/// columns both items tables have.
fn passed_over(unfilled: &[&str]) -> String {
    match unfilled {
        [] => String::new(),
        [key] => format!("the {key} column names not every item; "),
        keys => format!("the {} columns name not every item; ", keys.join(", ")),
    }
}

/// The rules decided so far, by (own schema, other schema), and the
/// comparison tenants whose items failed a read at run time, with why.
#[derive(Debug, Default)]
pub(super) struct RuleCache {
    rules: Mutex<HashMap<(String, String), RuleChoice>>,
    unreadable: Mutex<HashMap<String, String>>,
    /// Whether a key column names every item, by (schema, column).
    filled: Mutex<HashMap<(String, String), bool>>,
}

impl RuleCache {
    /// Why the items of comparison tenant `other` cannot be read, when a
    /// read failed on them (see [`Database::read_or_own`]).
    pub(super) fn unreadable(&self, other: &str) -> Option<String> {
        self.unreadable.lock().ok()?.get(other).cloned()
    }

    pub(super) fn mark_unreadable(&self, other: &str, why: &str) {
        if let Ok(mut unreadable) = self.unreadable.lock() {
            unreadable.insert(other.to_string(), why.to_string());
        }
    }

    fn filled(&self, schema: &str, items: &str, column: &str) -> Option<bool> {
        let cache = self.filled.lock().ok()?;
        cache
            .get(&(format!("{schema}.{items}"), column.to_string()))
            .copied()
    }

    fn put_filled(&self, schema: &str, items: &str, column: &str, filled: bool) {
        if let Ok(mut cache) = self.filled.lock() {
            cache.insert((format!("{schema}.{items}"), column.to_string()), filled);
        }
    }

    fn get(&self, own: &str, other: &str) -> Option<RuleChoice> {
        let cache = self.rules.lock().ok()?;
        cache.get(&(own.to_string(), other.to_string())).cloned()
    }

    fn put(&self, own: &str, other: &str, choice: RuleChoice) {
        if let Ok(mut cache) = self.rules.lock() {
            cache.insert((own.to_string(), other.to_string()), choice);
        }
    }

    /// Forgets every rule and failure: the catalogues may have changed.
    pub(super) fn clear(&self) {
        if let Ok(mut cache) = self.rules.lock() {
            cache.clear();
        }
        if let Ok(mut unreadable) = self.unreadable.lock() {
            unreadable.clear();
        }
        if let Ok(mut filled) = self.filled.lock() {
            filled.clear();
        }
    }
}

impl Database {
    /// The `items_match` setting in force.
    pub fn item_match(&self) -> ItemMatch {
        ItemMatch::parse(&self.tables.model.items.matching)
    }

    /// SQL for the text of a single key (one of [`ItemRule::keys`]), over
    /// items row `alias`: NULL where it is blank (empty or spaces), as
    /// Django's `CharField(blank=True)` stores a key nobody filled in. A
    /// blank key names no item: every item without a sku would otherwise
    /// be the same item as every other tenant's item without one.
    pub(super) fn item_key(&self, key: &ItemRule, alias: &str) -> String {
        let names = &self.tables.names;
        let text = match key {
            ItemRule::Id | ItemRule::IdOrDescription => {
                format!("{alias}.{}::text", names.item_id)
            }
            ItemRule::Description => format!("{alias}.{}::text", names.item_label),
            ItemRule::Column(column) => format!("{alias}.{}::text", quote_ident(column)),
        };
        format!("CASE WHEN btrim({text}) <> '' THEN {text} END")
    }

    /// The comparison side of a match under `rule`: CTEs over `schema`'s
    /// items (on Citus read on their own, MATERIALIZED, so that the
    /// statement works where two schemas live on different nodes;
    /// elsewhere inlined, so that the planner sees the table's statistics:
    /// a materialized one is guessed at 200 items, and joined by a nested
    /// loop, lines × items: 1.9 s for a page of 100 lines against 200,000
    /// items, 0.2 s inlined), one item
    /// per key (the lowest id in text order; rows repeating an id, in a
    /// table without a primary key, by price text and description, so
    /// that every statement picks the same one; where the key's items are
    /// not all at one price ([`mixed_prices`]), none: no id, item or
    /// price, and `ambiguous` true), and the LEFT JOINs of `own_keys` (SQL
    /// for each key of the rule, in order) to them; with `wanted` (a FROM
    /// item `own_keys` read over: a page of lines, a basket's bound
    /// lines), only the keys it holds are sorted (a page beside 200,000
    /// items read in 49–72 ms where sorting the whole catalogue took
    /// 200 ms); SQL for a column (`id`, `item`, `price`, `ambiguous`) of
    /// the item matched; and SQL true where an item matched (whatever its
    /// columns hold: its id or price may be NULL).
    pub(super) fn match_sql(
        &self,
        schema: &str,
        rule: &ItemRule,
        own_keys: &[String],
        wanted: Option<&str>,
    ) -> (String, String, impl Fn(&str) -> String, String) {
        let names = &self.tables.names;
        let keys = rule.keys();
        let key_columns: String = keys
            .iter()
            .enumerate()
            .map(|(j, key)| format!(", {} AS k{j}", self.item_key(key, "ci")))
            .collect();
        let mut ctes = format!(
            "theirs AS {materialized} (
               SELECT ci.{id}::text AS id, {item} AS item, {price} AS price,
                      ci.{price_column} AS value{key_columns}
                 FROM {schema}.{items} ci)",
            materialized = if self.tables.citus {
                "MATERIALIZED"
            } else {
                "NOT MATERIALIZED"
            },
            id = names.item_id,
            item = super::lossy::raw(&format!("ci.{}", names.item_label)),
            price = super::exact_text(&format!("ci.{}", names.item_price)),
            price_column = names.item_price,
            items = names.items,
        );
        let mut joins = String::new();
        for (j, own) in own_keys.iter().enumerate().take(keys.len()) {
            let mixed = mixed_prices("theirs.value");
            let wanted = wanted.map_or(String::new(), |from| {
                format!(" AND k{j} IN (SELECT {own} FROM {from})")
            });
            ctes.push_str(&format!(
                ",\n m{j} AS (SELECT DISTINCT ON (k{j}) k{j},
                                    CASE WHEN NOT {mixed} THEN theirs.item END AS item,
                                    CASE WHEN NOT {mixed} THEN theirs.id END AS id,
                                    CASE WHEN NOT {mixed} THEN theirs.price END AS price,
                                    {mixed} AS ambiguous
                               FROM theirs
                              WHERE k{j} IS NOT NULL{wanted}
                             WINDOW w AS (PARTITION BY k{j})
                              ORDER BY k{j}, theirs.id, theirs.price COLLATE \"C\", theirs.item)"
            ));
            // A later key only where the earlier ones found nothing.
            let unmatched: String = (0..j).map(|e| format!("m{e}.k{e} IS NULL AND ")).collect();
            joins.push_str(&format!(" LEFT JOIN m{j} ON {unmatched}m{j}.k{j} = {own}"));
        }
        let count = keys.len().min(own_keys.len());
        let column = move |name: &str| {
            let arms: String = (0..count)
                .map(|j| format!(" WHEN m{j}.k{j} IS NOT NULL THEN m{j}.{name}"))
                .collect();
            format!("CASE{arms} END")
        };
        let found: Vec<String> = (0..count)
            .map(|j| format!("m{j}.k{j} IS NOT NULL"))
            .collect();
        let found = match found.is_empty() {
            true => "false".to_string(),
            false => format!("({})", found.join(" OR ")),
        };
        (ctes, joins, column, found)
    }

    /// Whether `column` of the items table `items` (quoted) in quoted
    /// schema `schema` names every item (no NULL, empty or spaces-only
    /// value): a key `auto` may take. A sku column nobody filled in
    /// (Django's `CharField(blank=True)` stores `''`) would match no item.
    /// Remembered until the catalogue is read again; one not known yet is
    /// read alone ([`Database::read_fills`]), and a read that failed on a
    /// lock or a timeout is its error.
    pub(super) async fn key_names_every_item(
        &self,
        schema: &str,
        items: &str,
        column: &str,
    ) -> Result<bool, DbError> {
        if let Some(known) = self.item_rule_cache.filled(schema, items, column) {
            return Ok(known);
        }
        let failed = self
            .read_fills(items, &[(schema, column)], &HashMap::new(), None)
            .await;
        match self.item_rule_cache.filled(schema, items, column) {
            Some(known) => Ok(known),
            None => Err(failed
                .into_iter()
                .next()
                .map_or_else(|| DbError::Query("no answer".into()), |(_, e)| e)),
        }
    }

    /// Reads [`Database::key_names_every_item`] for each of `checks`
    /// (quoted schema, key column) not known yet, into the cache: one
    /// statement per batch of tenants (by Citus node, from `nodes` by
    /// index in `checks`), not one per tenant. A check whose read fails
    /// for good (a denied column) is `false`; one that may pass (a lock, a
    /// timeout) stays unknown, asked again next time: its index and error
    /// come back.
    pub(super) async fn read_fills(
        &self,
        items: &str,
        checks: &[(&str, &str)],
        nodes: &HashMap<usize, String>,
        handle: Option<&QueryHandle>,
    ) -> Vec<(usize, DbError)> {
        let cache = &self.item_rule_cache;
        let mut seen = std::collections::HashSet::new();
        let selects: Vec<(usize, String)> = checks
            .iter()
            .enumerate()
            .filter(|(_, (schema, column))| cache.filled(schema, items, column).is_none())
            .filter(|(_, check)| seen.insert(*check))
            .map(|(i, (schema, column))| {
                let key = self.item_key(&ItemRule::Column(column.to_string()), "i");
                let select = format!(
                    "(SELECT {i}::int4, NOT EXISTS (SELECT 1 FROM {schema}.{items} i
                                                     WHERE {key} IS NULL))"
                );
                (i, select)
            })
            .collect();
        if selects.is_empty() {
            return Vec::new();
        }
        let size = selects.len().div_ceil(self.batch_width()).max(1);
        let read = self.tenant_batches(&selects, size, &[], handle, nodes);
        let (rows, failed): (Vec<(i32, bool)>, _) = match read.await {
            Ok(read) => read,
            Err(error) => return selects.iter().map(|(i, _)| (*i, error.clone())).collect(),
        };
        for (i, filled) in rows {
            if let Some((schema, column)) = usize::try_from(i).ok().and_then(|i| checks.get(i)) {
                cache.put_filled(schema, items, column, filled);
            }
        }
        // A column this role may not read names no item it can match by;
        // a lock or a timeout may pass.
        let (passing, lasting): (Vec<_>, Vec<_>) =
            failed.into_iter().partition(|(_, e)| e.retryable());
        for (i, _) in lasting {
            if let Some((schema, column)) = checks.get(i) {
                cache.put_filled(schema, items, column, false);
            }
        }
        passing
    }

    /// Under `auto`, takes out of `evidence` the key columns both items
    /// tables have that do not name every item on both sides (quoted
    /// schemas `own`, `other`), up to the first that does, which
    /// [`decide`] then takes; the columns passed over. A check that
    /// cannot be read is an error of the pair, not a key passed over: a
    /// rule decided on it would be remembered.
    async fn drop_unfilled_keys(
        &self,
        setting: &ItemMatch,
        (own, other, items): (&str, &str, &str),
        evidence: &mut Evidence,
    ) -> Result<Vec<&'static str>, DbError> {
        let mut unfilled = Vec::new();
        if *setting != ItemMatch::Auto {
            return Ok(unfilled);
        }
        let common: Vec<&str> = common_keys(&evidence.own_keys, &evidence.other_keys).collect();
        for key in common {
            if self.key_names_every_item(own, items, key).await?
                && self.key_names_every_item(other, items, key).await?
            {
                break;
            }
            evidence.own_keys.retain(|k| k != key);
            unfilled.push(key);
        }
        Ok(unfilled)
    }

    /// How `own`'s items match each of `others`' (quoted schema names
    /// beside the plain ones): one statement for those not decided yet,
    /// none when the setting needs no evidence. A tenant whose evidence
    /// cannot be read gets its error.
    pub(super) async fn item_rules(
        &self,
        own: (&str, &str),
        others: &[(&str, &str)],
        handle: Option<&QueryHandle>,
        nodes: &std::collections::HashMap<usize, String>,
    ) -> Result<Vec<Result<RuleChoice, DbError>>, DbError> {
        let setting = self.item_match();
        let no_evidence = match &setting {
            ItemMatch::Id | ItemMatch::Description => true,
            ItemMatch::Auto | ItemMatch::Column(_) => false,
        };
        let mut rules: Vec<Option<Result<RuleChoice, DbError>>> = others
            .iter()
            .map(|(other, _)| {
                if no_evidence {
                    return Some(
                        decide(&setting, &Evidence::default(), own.0, other)
                            .map_err(DbError::Setting),
                    );
                }
                self.item_rule_cache.get(own.0, other).map(Ok)
            })
            .collect();
        let wanted: Vec<(usize, String)> = others
            .iter()
            .enumerate()
            .filter(|(i, _)| rules[*i].is_none())
            .map(|(i, (_, schema))| {
                let names = &self.tables.names;
                let names = (
                    names.items.as_str(),
                    names.item_id.as_str(),
                    names.item_label.as_str(),
                );
                (i, evidence_select(names, i, own.1, schema))
            })
            .collect();
        if !wanted.is_empty() {
            let candidates: Vec<Option<String>> =
                setting.candidates().into_iter().map(Some).collect();
            let candidates: Vec<Option<&str>> = candidates.iter().map(|c| c.as_deref()).collect();
            let (rows, failed): (Vec<EvidenceRow>, _) = self
                .tenant_batches(
                    &wanted,
                    // Side by side, one statement per connection to spare.
                    wanted.len().div_ceil(self.batch_width()).max(1),
                    &[&candidates],
                    handle,
                    nodes,
                )
                .await?;
            for (i, error) in failed {
                rules[i] = Some(Err(error));
            }
            let items = self.tables.names.items.as_str();
            if setting == ItemMatch::Auto {
                self.read_first_fills(own.1, others, &rows, nodes, handle)
                    .await;
            }
            for row in rows {
                let Some(slot) = usize::try_from(row.0).ok().and_then(|i| rules.get_mut(i)) else {
                    continue;
                };
                let other = others[row.0 as usize];
                let decided = self.decide_pair(&setting, row, own, other, items).await;
                if let Ok(choice) = &decided {
                    self.item_rule_cache.put(own.0, other.0, choice.clone());
                }
                *slot = Some(decided);
            }
        }
        Ok(rules
            .into_iter()
            .map(|rule| rule.unwrap_or_else(|| Err(DbError::Query("no item rule".into()))))
            .collect())
    }

    /// For each pair of `rows` (evidence of quoted `own` against `others`,
    /// by index), whether its first key column in common names every item
    /// of both: read for all pairs in batches, before
    /// [`Database::drop_unfilled_keys`] asks pair by pair.
    async fn read_first_fills(
        &self,
        own: &str,
        others: &[(&str, &str)],
        rows: &[EvidenceRow],
        nodes: &HashMap<usize, String>,
        handle: Option<&QueryHandle>,
    ) {
        let mut checks = Vec::new();
        let mut check_nodes = HashMap::new();
        for (i, _, _, own_keys, other_keys) in rows {
            let i = usize::try_from(*i).unwrap_or(usize::MAX);
            let (Some(other), Some(own_keys), Some(other_keys)) =
                (others.get(i), own_keys, other_keys)
            else {
                continue;
            };
            if let Some(key) = common_keys(own_keys, other_keys).next() {
                checks.push((own, key));
                if let Some(node) = nodes.get(&i) {
                    check_nodes.insert(checks.len(), node.clone());
                }
                checks.push((other.1, key));
            }
        }
        let items = &self.tables.names.items;
        // A failed check fails its pair when it is decided.
        self.read_fills(items, &checks, &check_nodes, handle).await;
    }

    /// How `own`'s items match `other`'s, and why (`detect` explains it).
    pub async fn item_rule_between(
        &self,
        model: &super::TenancyModel,
        own: &str,
        other: &str,
    ) -> Result<RuleChoice, DbError> {
        // `detect` may run before any layout is resolved: the names come
        // from the model it found.
        let items = &model.items;
        let names = (
            quote_ident(&items.table),
            quote_ident(&items.id),
            quote_ident(&items.label),
        );
        let setting = ItemMatch::parse(&items.matching);
        let sql = evidence_select(
            (&names.0, &names.1, &names.2),
            0,
            &quote_ident(own),
            &quote_ident(other),
        );
        let mut tx = self.read_tx().await?;
        let row: EvidenceRow = sqlx::query_as(&sql)
            .bind(setting.candidates())
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        Database::end_read(tx);
        let own = (own, quote_ident(own));
        let other = (other, quote_ident(other));
        self.decide_pair(
            &setting,
            row,
            (own.0, &own.1),
            (other.0, &other.1),
            &names.0,
        )
        .await
    }

    /// [`decide`] on one pair's evidence `row`, after `auto`'s key columns
    /// that do not name every item are taken out (tenants plain and
    /// quoted, `items` the quoted items table).
    async fn decide_pair(
        &self,
        setting: &ItemMatch,
        (_, shared_ids, conflicts, own_keys, other_keys): EvidenceRow,
        own: (&str, &str),
        other: (&str, &str),
        items: &str,
    ) -> Result<RuleChoice, DbError> {
        let mut evidence = Evidence {
            shared_ids,
            conflicts,
            own_keys: own_keys.unwrap_or_default(),
            other_keys: other_keys.unwrap_or_default(),
        };
        let unfilled = self
            .drop_unfilled_keys(setting, (own.1, other.1, items), &mut evidence)
            .await?;
        let mut choice = decide(setting, &evidence, own.0, other.0).map_err(DbError::Setting)?;
        choice.why = passed_over(&unfilled) + &choice.why;
        Ok(choice)
    }

    /// Why `other`'s items cannot be priced: its items table lacks a
    /// column an orders read names (the id, the description, the price),
    /// said of the table. Read from the catalog (no privilege needed) once
    /// per tenant and session; `None` also where the table is not there at
    /// all, which the orders read explains.
    pub(super) async fn items_lack(&self, other: &str) -> Result<Option<String>, DbError> {
        let lacks = match self.items_tables.get(other) {
            Some(known) => known.lacks,
            None => {
                let mut tx = self.read_tx().await?;
                let table = self.items_table(&mut tx, other).await;
                let table = table.map_err(|e| self.error(e))?;
                Database::end_read(tx);
                table.map(|t| t.lacks).unwrap_or_default()
            }
        };
        Ok((!lacks.is_empty()).then(|| {
            let named: Vec<String> = lacks.iter().map(|c| crate::text::quoted(c)).collect();
            format!(
                "the items table of {} has no {} column{}",
                crate::text::quoted(other),
                named.join(", "),
                if lacks.len() == 1 { "" } else { "s" }
            )
        }))
    }

    /// The rule for one pair; see [`Database::item_rules`].
    pub(super) async fn item_rule(
        &self,
        own: (&str, &str),
        other: (&str, &str),
        handle: Option<&QueryHandle>,
    ) -> Result<Result<RuleChoice, DbError>, DbError> {
        let mut rules = self
            .item_rules(own, &[other], handle, &Default::default())
            .await?;
        Ok(rules
            .pop()
            .unwrap_or_else(|| Err(DbError::Query("no item rule".into()))))
    }
}

/// SQL true where the rows of window `w` (one key's rows) are not all at
/// one price: their price column's values (`price`, SQL) differ, as its
/// type compares them (a number column by value: `10` and `10.00` are one
/// price; a text one by text), or some are NULL and some not. Such a key
/// prices nothing. The column as it is: no cast or pattern per row (a
/// number read from its text cost 0.9 s over 200,000 items).
pub(super) fn mixed_prices(price: &str) -> String {
    format!(
        "(min({price}) OVER w IS DISTINCT FROM max({price}) OVER w
          OR count({price}) OVER w NOT IN (0, count(*) OVER w))"
    )
}

/// One pair's evidence, tagged `i`: shared ids, conflicting ones (each id
/// once, however many rows an items table without a primary key holds
/// under it; an id whose description is blank or NULL on either side is
/// not known to name the same item, so it conflicts), and the candidate
/// key columns (`$1`) of both items tables, over the quoted items table,
/// id and label names. The other side is read
/// on its own (a MATERIALIZED CTE) so that the statement works where the
/// two schemas live on different nodes (Citus).
fn evidence_select(names: (&str, &str, &str), i: usize, own: &str, other: &str) -> String {
    let (items, id, label) = names;
    let keys = |schema: &str| {
        format!(
            "(SELECT array_agg(a.attname::text) FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = to_regclass({relation}) AND a.attnum > 0
                 AND NOT a.attisdropped AND a.attname = ANY($1::text[]))",
            relation = quote_literal(&format!("{schema}.{items}")),
        )
    };
    format!(
        "(WITH theirs AS MATERIALIZED (
              SELECT t.{id}::text AS id, t.{label}::text AS label FROM {other}.{items} t)
          SELECT {i}::int4, count(DISTINCT theirs.id)::int8,
                 count(DISTINCT theirs.id)
                     FILTER (WHERE NOT coalesce(btrim(theirs.label) <> ''
                                                AND theirs.label = o.{label}::text, false))::int8,
                 {own_keys}, {other_keys}
            FROM {own}.{items} o JOIN theirs ON theirs.id = o.{id}::text)",
        own_keys = keys(own),
        other_keys = keys(other),
    )
}

type EvidenceRow = (i32, i64, i64, Option<Vec<String>>, Option<Vec<String>>);

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(shared_ids: i64, conflicts: i64, own: &[&str], other: &[&str]) -> Evidence {
        Evidence {
            shared_ids,
            conflicts,
            own_keys: own.iter().map(|k| k.to_string()).collect(),
            other_keys: other.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn rule(setting: &str, evidence: &Evidence) -> Result<ItemRule, String> {
        decide(&ItemMatch::parse(setting), evidence, "acme", "globex").map(|c| c.rule)
    }

    #[test]
    fn auto_uses_ids_only_where_the_catalogues_agree_on_them() {
        // (shared ids, conflicts, keys of each side) → rule.
        let cases = [
            (evidence(3, 0, &[], &[]), ItemRule::IdOrDescription),
            (evidence(3, 2, &[], &[]), ItemRule::Description),
            (evidence(3, 1, &[], &[]), ItemRule::Description),
            // Nothing shared: agreement on nothing is no agreement.
            (evidence(0, 0, &[], &[]), ItemRule::Description),
            // A natural key on both sides wins, whatever the ids say.
            (
                evidence(3, 2, &["sku"], &["sku"]),
                ItemRule::Column("sku".into()),
            ),
            (
                evidence(3, 0, &["sku"], &["sku"]),
                ItemRule::Column("sku".into()),
            ),
            (evidence(3, 2, &["sku"], &["code"]), ItemRule::Description),
            (
                evidence(3, 2, &["code", "sku"], &["sku", "code"]),
                ItemRule::Column("sku".into()),
            ),
        ];
        for (evidence, expected) in cases {
            assert_eq!(rule("auto", &evidence), Ok(expected), "{evidence:?}");
        }
        // Key columns passed over (not filled in for every item) are said.
        assert_eq!(passed_over(&[]), "");
        assert_eq!(
            passed_over(&["sku"]),
            "the sku column names not every item; "
        );
        assert_eq!(
            passed_over(&["sku", "code"]),
            "the sku, code columns name not every item; "
        );
    }

    #[test]
    fn a_configured_rule_is_kept_and_a_missing_column_is_named() {
        let conflicting = evidence(3, 2, &["sku"], &[]);
        assert_eq!(rule("id", &conflicting), Ok(ItemRule::Id));
        assert_eq!(rule("description", &conflicting), Ok(ItemRule::Description));
        let error = rule("sku", &conflicting).unwrap_err();
        assert!(error.contains("\"globex\" has no such column"), "{error}");
        assert_eq!(
            rule("sku", &evidence(0, 0, &["sku"], &["sku"])),
            Ok(ItemRule::Column("sku".into()))
        );
    }
}
