//! A user's orders read a page at a time: the first page (the first
//! screen), keyset pages after it, the totals over every line computed by
//! the server in one aggregate statement, and the CLI's stream through a
//! server-side cursor, its totals summed as the lines go by. Memory holds
//! a page or a batch, never every line.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::task::Poll;

use futures_util::future::maybe_done;
use sqlx::{Executor, FromRow};

use super::orders::{
    gap_words, raw_line, KeyedLine, LinesRead, LinesTotals, OrderRow, OrdersPlan, OrdersSchemas,
};
use super::own_items::OrderIds;
use super::sql::quote_literal;
use super::{
    Database, DbError, OrderLine, OrdersReport, OrdersTotals, Page, QueryHandle, ReadTx, User,
};
use crate::money::{Problem, Value};

/// Lines per FETCH of the CLI's stream.
const STREAM_BATCH: usize = 5_000;

/// Where [`Database::stream_orders`] hands the lines, pass by pass.
pub trait OrderSink {
    /// How many passes over the lines this sink needs (a table: its
    /// widths, then its lines).
    fn passes(&self) -> u8;
    /// Pass `pass` (from 0) begins; `report` has the comparison and how
    /// it was made (its `lines` are empty), and the totals from the second
    /// pass on (before, `totals_known` is false).
    fn begin(&mut self, pass: u8, report: &OrdersReport) -> bool;
    /// The next line of pass `pass`; `false` stops the reading.
    fn line(&mut self, pass: u8, line: &OrderLine) -> bool;
    /// After the first pass's last line: `report` with the totals over
    /// every line (its `lines` are empty); `false` stops the reading.
    fn totals(&mut self, report: &OrdersReport) -> bool;
}

impl Database {
    /// The first screen of a user's orders: the first `limit` lines, with
    /// the comparison as [`Database::priced_orders`] reads it. When they
    /// are all the lines, the report's totals are theirs
    /// (`totals_known`); else the totals are still to come from
    /// [`Database::orders_totals`], and `totals.lines` is the page's.
    pub async fn orders_head(
        &self,
        user: &User,
        compare: Option<&str>,
        limit: usize,
        handle: Option<&QueryHandle>,
    ) -> Result<OrdersReport, DbError> {
        self.retried(|| async move {
            self.counters.orders.fetch_add(1, Ordering::Relaxed);
            let plan = self.orders_plan(user, compare, handle).await?;
            let read = LinesRead::Page(&Page::First, limit as i64);
            let (lines, plan) = self
                .read_or_own(plan, handle, |db, plan, handle| {
                    Box::pin(db.orders_lines(plan, read, *handle))
                })
                .await?;
            let complete = lines.len() < limit;
            let (keys, lines): (Vec<String>, Vec<_>) = lines.into_iter().unzip();
            let mut report = plan.report(lines, keys);
            report.totals_known = complete;
            Ok(report)
        })
        .await
    }

    /// A keyset page of a user's order lines (in order-key order, whatever
    /// the direction of `page`).
    pub async fn orders_page(
        &self,
        user: &User,
        compare: Option<&str>,
        page: &Page<String>,
        limit: usize,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<KeyedLine>, DbError> {
        self.retried(|| async move {
            let plan = self.orders_plan(user, compare, handle).await?;
            let read = LinesRead::Page(page, limit as i64);
            let (lines, _) = self
                .read_or_own(plan, handle, |db, plan, handle| {
                    Box::pin(db.orders_lines(plan, read, *handle))
                })
                .await?;
            Ok(lines
                .into_iter()
                .map(|(key, raw)| KeyedLine {
                    key,
                    line: OrderLine::from_raw(raw),
                })
                .collect())
        })
        .await
    }

    /// The lines `read` names, with their order keys, in order (a page
    /// read backwards is put back in order), cancellable through `handle`.
    /// A page of an orders relation without row places (a view, as the
    /// catalog says, or as the server answers where it did not) is keyed
    /// by position (see [`Keyset`]).
    pub(super) async fn orders_lines(
        &self,
        plan: &OrdersPlan,
        read: LinesRead<'_>,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<(String, super::RawOrderLine)>, DbError> {
        let mut read = read;
        loop {
            let mut tx = self.tracked_tx(handle).await?;
            let schemas = self.orders_schemas(&mut tx, plan).await?;
            // A view, as the catalog says: keyed by position from the start.
            if let (LinesRead::Page(page, limit), false) = (read, schemas.order_ids.row_places()) {
                read = LinesRead::PositionPage(page, limit);
            }
            // The SQL text differs per tenant pair: kept out of the statement cache.
            let sql = self.orders_sql(&schemas, plan, read);
            let rows: Result<Vec<OrderRow>, _> = sqlx::query_as(&sql)
                .bind(&plan.user_id)
                .persistent(false)
                .fetch_all(&mut *tx)
                .await;
            if let Some(handle) = handle {
                handle.finished();
            }
            let mut rows = match rows {
                Ok(rows) => rows,
                Err(e) if lacks_row_places(&e) && matches!(read, LinesRead::Page(..)) => {
                    drop(tx);
                    if let LinesRead::Page(page, limit) = read {
                        read = LinesRead::PositionPage(page, limit);
                    }
                    continue;
                }
                Err(e) => {
                    drop(tx);
                    return Err(self.orders_failed(plan, e).await);
                }
            };
            Database::end_read(tx);
            if let LinesRead::Page(Page::Last | Page::Before(_), _)
            | LinesRead::PositionPage(Page::Last | Page::Before(_), _) = read
            {
                rows.reverse();
            }
            return Ok(rows.into_iter().map(raw_line).collect());
        }
    }

    /// The totals over every one of a user's order lines, computed by the
    /// server in one aggregate statement over the same join the lines are
    /// read with: exact (numeric, never rounded), and unknown as soon as
    /// one line has no total, as [`OrdersReport::new`] computes them.
    pub async fn orders_totals(
        &self,
        user: &User,
        compare: Option<&str>,
        handle: Option<&QueryHandle>,
    ) -> Result<OrdersTotals, DbError> {
        self.retried(|| async move {
            let plan = self.orders_plan(user, compare, handle).await?;
            let (totals, _) = self
                .read_or_own(plan, handle, |db, plan, handle| {
                    Box::pin(db.totals_of(plan, *handle))
                })
                .await?;
            Ok(totals)
        })
        .await
    }

    async fn totals_of(
        &self,
        plan: &OrdersPlan,
        handle: Option<&QueryHandle>,
    ) -> Result<OrdersTotals, DbError> {
        // JIT off: the plan of the number reading passes `jit_above_cost`
        // at a million lines, and compiling it took 1.2–1.7 s of a 4 s
        // statement that runs in 2.7 s without it.
        let mut tx = self.tracked_tx_with(handle, super::NO_JIT).await?;
        let totals = self.totals_in(&mut tx, plan).await;
        if let Some(handle) = handle {
            handle.finished();
        }
        match totals {
            Ok(totals) => {
                Database::end_read(tx);
                Ok(totals)
            }
            Err(TotalsError::Db(error)) => Err(error),
            Err(TotalsError::Sql(e)) => {
                drop(tx);
                Err(self.orders_failed(plan, e).await)
            }
        }
    }

    async fn totals_in(
        &self,
        tx: &mut sqlx::PgConnection,
        plan: &OrdersPlan,
    ) -> Result<OrdersTotals, TotalsError> {
        let schemas = self
            .orders_schemas(tx, plan)
            .await
            .map_err(TotalsError::Db)?;
        let sql = self.totals_sql(&schemas, plan);
        let row: TotalsRow = sqlx::query_as(&sql)
            .bind(&plan.user_id)
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(TotalsError::Sql)?;
        Ok(totals_of(row, plan.compare.is_some()))
    }

    /// The aggregate over [`Database::orders_parts`]'s lines. Each value
    /// is read as the client reads it ([`Value::parse`]: plain decimal
    /// text, any exponent, at most [`crate::money::MAX_CHARS`] in plain
    /// form; NaN, infinities and other text are no number: see
    /// [`server_number`]), a quantity
    /// without its trailing zeros, a line total exact and never below the
    /// price's scale ([`Value::line_total`]); the sums are numeric's,
    /// exact at the largest scale of their terms. The lines are read once
    /// into groups of the same texts (a user's lines repeat a few items at
    /// a few quantities), and each group's numbers are read once and
    /// weighted by its count: exact, as a sum of that many equal terms is.
    /// The texts group byte for byte (`"C"`): a column's nondeterministic
    /// collation would make `1.5` and `15` one group.
    /// At 1,000,000 lines of 1,000 items at 97 quantities (97,002 groups)
    /// this and JIT off (see [`Database::orders_totals`]) take 2.7 s, not 9.8 s,
    /// within the default 5 s timeout. The groups, numbers and line totals
    /// are MATERIALIZED: inlined, each use of a column would compute its
    /// expression again (23 s instead of 1 s at 100,000 lines).
    fn totals_sql(&self, schemas: &OrdersSchemas, plan: &OrdersPlan) -> String {
        let (ctes, select) = self.orders_parts(schemas, plan, LinesRead::Unordered);
        let ctes = ctes.map(|c| format!("{c},\n")).unwrap_or_default();
        let number = |text: &str| server_number(text);
        // Exact, without trailing zeros, but never below the price's scale.
        let product = |price: &str| {
            format!(
                "round(trim_scale(qn * {price}),
                       greatest(scale(trim_scale(qn * {price})), scale({price})))"
            )
        };
        let in_range = |value: &str| {
            format!(
                "CASE WHEN length(abs({value})::text) - (scale({value}) > 0)::int <= {max}
                      THEN {value} END",
                max = crate::money::MAX_CHARS
            )
        };
        // Why a line has no total, as `OrderLine::gap` says it: lines with
        // the same key have the same words.
        let problem = |text: &str| {
            format!(
                "CASE lower(btrim({text})) WHEN 'nan' THEN 'NaN'
                      WHEN 'infinity' THEN 'Infinity' WHEN '+infinity' THEN 'Infinity'
                      WHEN 'inf' THEN 'Infinity'
                      WHEN '-infinity' THEN '-Infinity' WHEN '-inf' THEN '-Infinity'
                      ELSE {text} END"
            )
        };
        format!(
            "WITH {ctes}lines AS ({select}),
             groups AS MATERIALIZED (SELECT quantity COLLATE \"C\" AS quantity,
                                            unit_price COLLATE \"C\" AS unit_price,
                                            compare_price COLLATE \"C\" AS compare_price,
                                            item, compare_item, compare_matched, ambiguous,
                                            count(*) AS n
                                       FROM lines GROUP BY 1, 2, 3, 4, 5, 6, 7),
             numbers AS MATERIALIZED (SELECT groups.*, trim_scale({q0}) AS qn, {p0} AS pn,
                                             {c0} AS cpn
                                        FROM groups),
             products AS (SELECT numbers.*,
                                 CASE WHEN qn IS NOT NULL AND pn IS NOT NULL THEN {own} END AS own0,
                                 CASE WHEN qn IS NOT NULL AND cpn IS NOT NULL THEN {theirs} END AS theirs0
                            FROM numbers),
             totals AS MATERIALIZED (SELECT products.*, {own_in} AS tot, {theirs_in} AS ctot
                                       FROM products)
           SELECT coalesce(sum(n), 0)::int8,
                  coalesce(sum(n) FILTER (WHERE tot IS NULL), 0)::int8,
                  coalesce(sum(tot * n), 0)::text,
                  coalesce(sum(n) FILTER (WHERE tot IS NOT NULL AND ctot IS NOT NULL), 0)::int8,
                  (sum(ctot * n) FILTER (WHERE tot IS NOT NULL AND ctot IS NOT NULL))::text,
                  (sum(tot * n) FILTER (WHERE tot IS NOT NULL AND ctot IS NOT NULL))::text,
                  coalesce(sum(n) FILTER (WHERE cpn IS NULL), 0)::int8,
                  coalesce(sum(n) FILTER (WHERE cpn IS NULL AND compare_matched), 0)::int8,
                  coalesce(sum(n) FILTER (WHERE tot IS NULL AND cpn IS NOT NULL), 0)::int8,
                  coalesce(sum(n) FILTER (WHERE item IS NOT NULL AND compare_item IS NOT NULL
                                            AND item <> compare_item), 0)::int8,
                  count(DISTINCT gap) FILTER (WHERE tot IS NULL)::int8,
                  min(gap) FILTER (WHERE tot IS NULL)
             FROM (SELECT totals.*,
                          CASE WHEN item IS NULL AND unit_price IS NULL AND ambiguous IS NULL
                               THEN 'i'
                               WHEN quantity IS NULL THEN 'Q'
                               WHEN qn IS NULL THEN 'q' || {quantity_problem}
                               WHEN ambiguous IS NOT NULL THEN 'a' || ambiguous
                               WHEN unit_price IS NULL THEN 'P'
                               WHEN pn IS NULL THEN 'p' || {price_problem}
                               ELSE 'r' END AS gap
                     FROM totals) g",
            q0 = number("quantity"),
            p0 = number("unit_price"),
            c0 = number("compare_price"),
            own = product("pn"),
            theirs = product("cpn"),
            own_in = in_range("own0"),
            theirs_in = in_range("theirs0"),
            quantity_problem = problem("quantity"),
            price_problem = problem("unit_price"),
        )
    }

    /// A user's orders for the CLI, handed to `sink` line by line as they
    /// are read through a cursor in one read transaction, fetched
    /// [`STREAM_BATCH`] lines at a time (each FETCH its own statement
    /// under the statement timeout), as many times over the same lines as
    /// the sink asks ([`OrderSink::passes`]: a table's widths, then its
    /// lines). The totals are summed in memory
    /// during the first pass ([`LinesTotals`], as [`OrdersReport::new`]
    /// sums them) and handed over after its last line: the join runs once,
    /// not once more for [`Database::orders_totals`]'s aggregate. Memory
    /// holds one batch, whatever the count.
    pub async fn stream_orders(
        &self,
        user: &User,
        compare: Option<&str>,
        sink: &mut (dyn OrderSink + Send),
    ) -> Result<(), DbError> {
        self.retried_stream((user, compare, sink), |db, (user, compare, sink), told| {
            Box::pin(db.stream_orders_once(user, *compare, *sink, told))
        })
        .await
    }

    async fn stream_orders_once(
        &self,
        user: &User,
        compare: Option<&str>,
        sink: &mut (dyn OrderSink + Send),
        told: &mut bool,
    ) -> Result<(), DbError> {
        let passes = sink.passes();
        self.counters.orders.fetch_add(1, Ordering::Relaxed);
        let plan = self.orders_plan(user, compare, None).await?;
        // The first batch is read before the sink is told anything: a
        // comparison that fails the read is left out (see
        // `read_or_own`), and a read that fails writes nothing.
        let ((mut tx, first), plan) = self
            .read_or_own(plan, passes > 1, |db, plan, scroll| {
                Box::pin(db.open_orders_cursor(plan, *scroll))
            })
            .await?;
        let mut report = plan.report(Vec::new(), Vec::new());
        report.totals_known = false;
        let mut sum = LinesTotals::new(plan.compare.is_some());
        let mut first = Some(first);
        for pass in 0..passes {
            if pass > 0 {
                sqlx::query("MOVE ABSOLUTE 0 IN tenantscope_orders")
                    .persistent(false)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            *told = true;
            if !sink.begin(pass, &report) {
                return Ok(());
            }
            // The join runs in the FETCHes (on Citus, on the nodes): a
            // failure is explained as the orders read's (its node named).
            let mut fetched = match first.take() {
                Some(rows) => Ok(rows),
                None => fetch_orders(&mut tx).await,
            };
            loop {
                let rows = match fetched {
                    Ok(rows) => rows,
                    Err(e) => {
                        drop(tx);
                        return Err(self.orders_failed(&plan, e).await);
                    }
                };
                // A sign of life for the client-side deadline.
                self.progress.touch();
                let last = rows.len() < STREAM_BATCH;
                // After a last batch, never polled: nothing is asked for.
                let mut next = pin!(maybe_done(fetch_orders(&mut tx)));
                if !last {
                    // The next batch is asked for before these lines are
                    // handed on, so that the server reads it while the
                    // client decodes, sums and writes them, as far as the
                    // socket's buffers hold it (they took turns before).
                    poll_fn(|cx| {
                        let _started = next.as_mut().poll(cx);
                        Poll::Ready(())
                    })
                    .await;
                }
                for row in rows {
                    let line = OrderLine::from_raw(raw_line(row).1);
                    if pass == 0 {
                        sum.add(&line);
                    }
                    if !sink.line(pass, &line) {
                        return Ok(());
                    }
                }
                if last {
                    break;
                }
                next.as_mut().await;
                fetched = next.take_output().expect("awaited");
            }
            if pass == 0 {
                report.set_totals(sum.totals());
                if !sink.totals(&report) {
                    return Ok(());
                }
            }
        }
        Database::hand_back(tx).await;
        Ok(())
    }

    /// The user's lines under a cursor (`scroll`: to be read again), and
    /// its first batch.
    async fn open_orders_cursor(
        &self,
        plan: &OrdersPlan,
        scroll: bool,
    ) -> Result<(ReadTx, Vec<OrderRow>), DbError> {
        // Every line is read: planned for all rows, not the first tenth a
        // cursor is planned for (which chose a nested loop over the
        // comparison's items, lines × items). The batches come as text
        // (see `fetch_orders`): bytea in the form sqlx reads.
        let mut tx = self
            .begin_read(
                None,
                "; SET LOCAL cursor_tuple_fraction = 1; SET LOCAL bytea_output = hex",
            )
            .await?;
        let schemas = self.orders_schemas(&mut tx, plan).await?;
        let sql = self.orders_sql(&schemas, plan, LinesRead::All);
        let scroll = if scroll { "SCROLL" } else { "NO SCROLL" };
        let declared = sqlx::query(&format!(
            "DECLARE tenantscope_orders {scroll} CURSOR FOR {sql}"
        ))
        .bind(&plan.user_id)
        .persistent(false)
        .execute(&mut *tx)
        .await;
        let first = match declared {
            Ok(_) => fetch_orders(&mut tx).await,
            Err(e) => Err(e),
        };
        match first {
            Ok(rows) => Ok((tx, rows)),
            Err(e) => {
                drop(tx);
                Err(self.orders_failed(plan, e).await)
            }
        }
    }
}

/// The next batch of the orders cursor, in one message of the simple
/// protocol (the extended one first waits for the statement's
/// description): so its first poll sends the whole request.
async fn fetch_orders(tx: &mut ReadTx) -> Result<Vec<OrderRow>, sqlx::Error> {
    let fetch = format!("FETCH {STREAM_BATCH} FROM tenantscope_orders");
    let rows = (&mut **tx).fetch_all(fetch.as_str()).await?;
    rows.iter().map(OrderRow::from_row).collect()
}

/// The orders relation has no row places (`tableoid`, `ctid`: a view),
/// so its pages are keyed by position instead: the server said those
/// columns do not exist (undefined column, 42703), not anything else
/// that happens to name them.
fn lacks_row_places(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            let message = db.message();
            db.code().as_deref() == Some("42703")
                && (message.contains("ctid") || message.contains("tableoid"))
        }
        _ => false,
    }
}

/// How an orders query picks a user's orders (the subquery `o`, joined
/// afterwards), orders the lines and keys them.
///
/// Pages are keyed by a total order the server keeps stable: the order id
/// (in its column's own order, NULLs last), then the row's place in its
/// table (`tableoid`, `ctid`). Ids alone are not enough in drifted tenants
/// (no primary key: duplicate or NULL ids), where a keyset on the id would
/// skip or repeat lines at a page boundary. A key is
/// `"<tableoid> <ctid> v<id>"` (`n` for a NULL id). A relation without row
/// places (a view) is keyed by the line's position in (id, whole row)
/// order, `"#<position>"`: each page then sorts all of the user's lines,
/// and identical rows, which nothing tells apart, are interchangeable.
///
/// An orders table without an `id` column ([`OrderIds::Absent`]) gives
/// each line a NULL id (`NULL AS id` beside its columns): its lines are
/// keyed `"<tableoid> <ctid> n"` and ordered by their row place alone
/// (through a view without ids, by the whole row), every line read in
/// the same order as the pages read them.
pub(super) struct Keyset {
    /// The `key` column's expression over `o`.
    pub key: String,
    /// The lines' ORDER BY (empty: unordered).
    pub outer_order: String,
    by_position: bool,
    /// Whether the relation has an `id` column, and row places.
    ids: OrderIds,
    /// Row places beside each line read whole (`tenantscope_rel`,
    /// `tenantscope_row`: they order a table's lines after their ids).
    places: bool,
    /// The relation's row text beside each line read whole
    /// (`tenantscope_text`: it orders a view's lines after their ids).
    row_text: bool,
    filter: String,
    /// A second part's condition, read beside `filter`'s (UNION ALL).
    union: Option<String>,
    inner_order: String,
    limit: String,
}

/// A parsed key: the table's oid, the row's ctid, and the id (`None`: NULL).
fn place_key(key: &str) -> Option<(&str, &str, Option<&str>)> {
    let mut parts = key.splitn(3, ' ');
    let rel = parts.next()?;
    let row = parts.next()?;
    let id = parts.next()?;
    let rel_ok = !rel.is_empty() && rel.bytes().all(|b| b.is_ascii_digit());
    let row_ok = row.starts_with('(')
        && row.ends_with(')')
        && row
            .bytes()
            .all(|b| b.is_ascii_digit() || b"(),".contains(&b));
    let id = match id.split_at(id.len().min(1)) {
        ("n", "") => None,
        ("v", id) => Some(id),
        _ => return None,
    };
    (rel_ok && row_ok).then_some((rel, row, id))
}

fn position_key(key: &str) -> Option<i64> {
    key.strip_prefix('#')?.parse().ok()
}

impl Keyset {
    pub(super) fn of(read: LinesRead, ids: OrderIds) -> Keyset {
        // Every line in the pages' order: the id (if any), then the row's
        // place, or through a view the relation's own row text, as the
        // pages' positions order it (the subquery's adds the NULL id).
        let plain = |ordered: bool| {
            let by_id = match ids {
                OrderIds::Column { .. } => "o.id, ",
                OrderIds::Absent { .. } => "",
            };
            let (outer_order, places, row_text) = match (ordered, ids.row_places()) {
                (false, _) => (String::new(), false, false),
                (true, true) => (
                    format!("ORDER BY {by_id}o.tenantscope_rel, o.tenantscope_row"),
                    true,
                    false,
                ),
                (true, false) => (format!("ORDER BY {by_id}o.tenantscope_text"), false, true),
            };
            Keyset {
                key: "coalesce(o.id::text, '')".into(),
                outer_order,
                by_position: false,
                ids,
                places,
                row_text,
                filter: String::new(),
                union: None,
                inner_order: String::new(),
                limit: String::new(),
            }
        };
        match read {
            LinesRead::All => plain(true),
            LinesRead::Unordered => plain(false),
            LinesRead::Page(page, limit) => Keyset::by_place(page, limit, ids),
            LinesRead::PositionPage(page, limit) => Keyset::by_position(page, limit, ids),
        }
    }

    fn by_place(page: &Page<String>, limit: i64, ids: OrderIds) -> Keyset {
        let tail = |op: &str, rel: &str, row: &str| {
            format!(
                "(o.tableoid, o.ctid) {op} ({}::oid, {}::tid)",
                quote_literal(rel),
                quote_literal(row)
            )
        };
        let has_ids = matches!(ids, OrderIds::Column { .. });
        // The key's id is a literal of unknown type, so it reads as the id
        // column's own type (integer, uuid, text): keyset order is the
        // column's order. Each part bounds the id by itself (`o.id >= K`),
        // so that an index on it starts at the key rather than filtering
        // every line before it; NULL ids (last going forward) are a part
        // of their own. Without an id column, the place alone (a key
        // read while the table had ids included).
        let after = |key: &str, op: &str| match place_key(key) {
            Some((rel, row, _)) if !has_ids => Some((format!(" AND {}", tail(op, rel, row)), None)),
            Some((rel, row, Some(id))) => Some((
                format!(
                    " AND o.id >= {id} AND (o.id > {id} OR {tail})",
                    id = quote_literal(id),
                    tail = tail(op, rel, row)
                ),
                Some(" AND o.id IS NULL".to_string()),
            )),
            Some((rel, row, None)) => Some((
                format!(" AND o.id IS NULL AND {}", tail(op, rel, row)),
                None,
            )),
            None => None,
        };
        let before = |key: &str| match place_key(key) {
            Some((rel, row, _)) if !has_ids => {
                Some((format!(" AND {}", tail("<", rel, row)), None))
            }
            Some((rel, row, Some(id))) => Some((
                format!(
                    " AND o.id <= {id} AND (o.id < {id} OR {tail})",
                    id = quote_literal(id),
                    tail = tail("<", rel, row)
                ),
                None,
            )),
            Some((rel, row, None)) => Some((
                format!(" AND o.id IS NULL AND {}", tail("<", rel, row)),
                Some(" AND o.id IS NOT NULL".to_string()),
            )),
            None => None,
        };
        // A key of the other kind (the relation became a view meanwhile)
        // starts again from an end.
        let (filter, backwards) = match page {
            Page::First => (None, false),
            Page::Last => (None, true),
            Page::From(key) => (after(key, ">="), false),
            Page::After(key) => (after(key, ">"), false),
            Page::Before(key) => (before(key), true),
        };
        let (filter, union) = filter.unwrap_or_default();
        let dir = if backwards { " DESC" } else { "" };
        let (outer_order, inner_order) = match has_ids {
            true => (
                format!("ORDER BY o.id{dir}, o.tenantscope_rel{dir}, o.tenantscope_row{dir}"),
                format!("ORDER BY o.id{dir}, o.tableoid{dir}, o.ctid{dir}"),
            ),
            false => (
                format!("ORDER BY o.tenantscope_rel{dir}, o.tenantscope_row{dir}"),
                format!("ORDER BY o.tableoid{dir}, o.ctid{dir}"),
            ),
        };
        Keyset {
            key: "o.tenantscope_rel::text || ' ' || o.tenantscope_row::text || ' ' \
                  || coalesce('v' || o.id::text, 'n')"
                .into(),
            outer_order,
            by_position: false,
            ids,
            places: true,
            row_text: false,
            filter,
            union,
            inner_order,
            limit: format!(" LIMIT {limit}"),
        }
    }

    fn by_position(page: &Page<String>, limit: i64, ids: OrderIds) -> Keyset {
        let at = |key: &str, op: &str| {
            position_key(key).map(|p| format!(" AND o.tenantscope_pos {op} {p}"))
        };
        let (filter, backwards) = match page {
            Page::First => (None, false),
            Page::Last => (None, true),
            Page::From(key) => (at(key, ">="), false),
            Page::After(key) => (at(key, ">"), false),
            Page::Before(key) => (at(key, "<"), true),
        };
        let dir = if backwards { " DESC" } else { "" };
        Keyset {
            key: "'#' || o.tenantscope_pos".into(),
            outer_order: format!("ORDER BY o.tenantscope_pos{dir}"),
            by_position: true,
            ids,
            places: false,
            row_text: false,
            filter: filter.unwrap_or_default(),
            union: None,
            inner_order: format!("ORDER BY o.tenantscope_pos{dir}"),
            limit: format!(" LIMIT {limit}"),
        }
    }

    /// The subquery `o`: the user's orders in `orders` (qualified) whose
    /// user column is `user` ($1), with the columns the key needs (and a
    /// NULL `id` where the relation has none).
    pub(super) fn inner(&self, orders: &str, user: &str) -> String {
        let (order, limit) = (&self.inner_order, &self.limit);
        let (null_id, by_id) = match self.ids {
            OrderIds::Column { .. } => ("", "o.id, "),
            OrderIds::Absent { .. } => (", NULL::text AS id", ""),
        };
        if self.by_position {
            format!(
                "SELECT * FROM (SELECT o.*{null_id},
                                       row_number() OVER (ORDER BY {by_id}o::text) AS tenantscope_pos
                                  FROM {orders} o WHERE o.{user}::text = $1) o
                  WHERE true{filter} {order}{limit}",
                filter = self.filter
            )
        } else if self.limit.is_empty() {
            let places = match (self.places, self.row_text) {
                (true, _) => ", o.tableoid AS tenantscope_rel, o.ctid AS tenantscope_row",
                (false, true) => ", o::text AS tenantscope_text",
                (false, false) => "",
            };
            format!("SELECT o.*{null_id}{places} FROM {orders} o WHERE o.{user}::text = $1")
        } else {
            let part = |filter: &str| {
                format!(
                    "SELECT o.*{null_id}, o.tableoid AS tenantscope_rel, o.ctid AS tenantscope_row
                       FROM {orders} o WHERE o.{user}::text = $1{filter} {order}{limit}"
                )
            };
            match &self.union {
                None => part(&self.filter),
                Some(other) => format!(
                    "SELECT * FROM (({}) UNION ALL ({})) o {}{limit}",
                    part(&self.filter),
                    part(other),
                    self.outer_order
                ),
            }
        }
    }
}

/// SQL reading the text `text` as [`Value::parse`] and [`Value::checked`]
/// do: a numeric, or NULL where the client sees no number (out of range
/// included). Usual text (at most [`crate::money::MAX_CHARS`] characters
/// without an exponent) is cast at once: its plain form is no longer than
/// the text. With an exponent of at most 3 digits, the cast's plain form is
/// measured (for a value read here, that is the client's count); other
/// text in the client's grammar is cast only when the length of its plain
/// form, counted from its digits and exponent as [`Value::checked`] counts
/// it, is in range, so no cast can overflow (an exponent of more than 9
/// digits is out of range for any text a column holds). A zero is never
/// cast there: `0e99999999999` is `0` to the client (its exponent, up to
/// 18 digits, is read), and a cast would fail the whole statement.
fn server_number(text: &str) -> String {
    let blank = "[ \\t\\n\\r\\v\\f]*";
    let mantissa = "[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)";
    let max = crate::money::MAX_CHARS;
    format!(
        "CASE WHEN length({text}) <= {max} AND {text} ~ '^{blank}{mantissa}{blank}$'
              THEN ({text})::numeric
              WHEN length({text}) <= {max}
                   AND {text} ~ '^{blank}{mantissa}[eE][-+]?[0-9]{{1,3}}{blank}$'
              THEN (SELECT CASE WHEN length(abs(x.v)::text) - (scale(x.v) > 0)::int <= {max}
                                THEN x.v END
                      FROM (SELECT ({text})::numeric) x(v))
              WHEN {text} ~ '^{blank}{mantissa}([eE][-+]?[0-9]+)?{blank}$'
              THEN (SELECT CASE WHEN x.digits = 0
                                THEN CASE WHEN x.scale IS NULL
                                          THEN CASE WHEN coalesce(m[4], '') <> '-'
                                                         AND length(m[5]) <= 18
                                                    THEN 0::numeric END
                                          WHEN x.scale < 0 THEN 0::numeric
                                          WHEN x.scale + 1 <= {max}
                                          THEN round(0::numeric, x.scale::int) END
                                WHEN (CASE WHEN x.scale >= 0 THEN greatest(x.digits, x.scale + 1)
                                           ELSE x.digits - x.scale END) <= {max}
                                THEN ({text})::numeric END
                      FROM regexp_match({text},
                             '^{blank}[-+]?([0-9]*)\\.?([0-9]*)([eE]([-+]?)0*([0-9]*))?{blank}$') m,
                           LATERAL (SELECT length(ltrim(m[1] || m[2], '0')) AS digits,
                                           CASE WHEN length(coalesce(m[5], '')) <= 9
                                                THEN length(m[2])::int8
                                                     - (coalesce(m[4], '') || coalesce(nullif(m[5], ''), '0'))::int8
                                           END AS scale) x)
         END"
    )
}

enum TotalsError {
    /// Already explained (a tenant that is not one).
    Db(DbError),
    Sql(sqlx::Error),
}

/// Lines, lines without a total, total, compared lines, their total at
/// the comparison and at home, lines without a comparison price (and of
/// those, with the comparison's item), lines with a comparison price but
/// no own total, lines naming another item, kinds of gap, the first gap's
/// key.
type TotalsRow = (
    i64,
    i64,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
);

fn totals_of(row: TotalsRow, compared: bool) -> OrdersTotals {
    let (
        lines,
        gaps,
        total,
        compared_lines,
        theirs,
        ours,
        missing,
        unpriced,
        priced_gaps,
        other,
        kinds,
        gap,
    ) = row;
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    let gap_text = gap.as_deref().map(gap_reason);
    let both = compared && compared_lines > 0;
    OrdersTotals {
        lines: count(lines),
        total: if gaps == 0 {
            Value::from_text(total.as_deref())
        } else {
            Value::Missing
        },
        compare_total: if both {
            Value::from_text(theirs.as_deref())
        } else {
            Value::Missing
        },
        compared_total: if both {
            Value::from_text(ours.as_deref())
        } else {
            Value::Missing
        },
        compared_lines: count(compared_lines),
        compare_missing: if compared { count(missing) } else { 0 },
        compare_unpriced: if compared { count(unpriced) } else { 0 },
        own_gaps: count(gaps),
        priced_own_gaps: if compared { count(priced_gaps) } else { 0 },
        gap: gap_text.and_then(|first| gap_words(count(gaps), &first, kinds == 1)),
        other_items: count(other),
    }
}

/// The words of a gap key (see [`Database::totals_sql`]), as
/// [`OrderLine::gap`] says them.
fn gap_reason(key: &str) -> String {
    let problem = |text: &str| match Value::parse(text) {
        Value::Invalid(problem) => problem,
        // Read as a number here, not there: too long to be one.
        _ => Problem::OutOfRange,
    };
    match key.split_at(key.len().min(1)) {
        ("i", _) => "with a missing item".into(),
        ("Q", _) => "without a quantity".into(),
        ("q", text) => format!("with a quantity that is {}", problem(text)),
        ("a", items) => match items.parse() {
            Ok(items) => format!("with a price that is {}", Problem::Ambiguous { items }),
            Err(_) => "without a price".into(),
        },
        ("P", _) => "without a price".into(),
        ("p", text) => format!("with a price that is {}", problem(text)),
        _ => format!("with a total that is {}", Problem::OutOfRange),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_keys_read_as_the_lines_say_them() {
        assert_eq!(gap_reason("i"), "with a missing item");
        assert_eq!(gap_reason("P"), "without a price");
        assert_eq!(
            gap_reason("pNaN"),
            "with a price that is not a number (NaN)"
        );
        assert_eq!(
            gap_reason("q-Infinity"),
            "with a quantity that is infinite (-Infinity)"
        );
        assert_eq!(
            gap_reason("pN/A"),
            "with a price that is not a number: \"N/A\""
        );
        assert_eq!(
            gap_reason("a2"),
            "with a price that is ambiguous (the item id names 2 different items)"
        );
    }

    /// The comparison's catalogue (20,000 items) is built once per read,
    /// never once per line: materialized, the planner guessed 200 items
    /// and looped over the catalogue once per line where the own items
    /// were read by index (lines × items: 1.9 s a page beside 200,000
    /// items, 0.2 s by hash). A page sorts only the items its lines name
    /// (see [`Database::match_sql`]); every line, the whole catalogue, and
    /// the planner knows how large it is.
    #[tokio::test]
    async fn the_comparison_catalogue_is_scanned_once_whatever_the_lines() {
        let test_db = crate::embedded::testing::TestDatabase::empty().await;
        test_db
            .run_sql(
                "CREATE TABLE public.users (id text PRIMARY KEY, name text, organization_id text);
                 INSERT INTO public.users VALUES ('1', 'ann', 'acme');
                 CREATE SCHEMA acme; CREATE SCHEMA globex;
                 CREATE TABLE acme.items (id text PRIMARY KEY, description text, price numeric);
                 CREATE TABLE globex.items (id text PRIMARY KEY, description text, price numeric);
                 CREATE TABLE acme.orders (id int PRIMARY KEY, user_id text, item_id text, quantity int);
                 CREATE TABLE globex.orders (id int PRIMARY KEY, user_id text, item_id text, quantity int);
                 INSERT INTO acme.items SELECT g::text, 'item ' || g, g FROM generate_series(1, 20000) g;
                 INSERT INTO globex.items SELECT 'g' || g, 'item ' || g, g FROM generate_series(1, 20000) g;
                 INSERT INTO acme.orders SELECT g, '1', (g * 7)::text, 1 FROM generate_series(1, 1000) g;
                 ANALYZE;",
            )
            .await;
        let db = test_db.connect().await;
        let user = db.user("1").await.unwrap();
        let plan = db.orders_plan(&user, Some("globex"), None).await.unwrap();
        assert!(plan.rule.is_some(), "{plan:?}");
        let mut tx = db.read_tx().await.unwrap();
        let schemas = db.orders_schemas(&mut tx, &plan).await.unwrap();
        /// How many times the plan scans globex's items, and how many
        /// times it builds the comparison's items (a `Unique` node: one
        /// per key) with how many rows, estimated and read.
        type Seen = (Vec<f64>, Vec<(f64, f64, f64)>);
        fn scans(node: &serde_json::Value, seen: &mut Seen) {
            let number = |name: &str| node[name].as_f64().unwrap_or(f64::NAN);
            // `ci`: the comparison's items (see `Database::match_sql`).
            if node["Alias"] == "ci" && node["Relation Name"] == "items" {
                seen.0.push(number("Actual Loops"));
            }
            if node["Node Type"] == "Unique" {
                let built = (
                    number("Actual Loops"),
                    number("Plan Rows"),
                    number("Actual Rows"),
                );
                seen.1.push(built);
            }
            for child in node["Plans"].as_array().into_iter().flatten() {
                scans(child, seen);
            }
        }
        for (read, what) in [
            (LinesRead::Page(&Page::First, 100), "a page"),
            (LinesRead::All, "every line"),
        ] {
            let sql = db.orders_sql(&schemas, &plan, read);
            let explained: serde_json::Value =
                sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))
                    .bind(&plan.user_id)
                    .persistent(false)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            let mut seen = Seen::default();
            scans(&explained[0]["Plan"], &mut seen);
            assert_eq!(seen.0, [1.0], "{what}:\n{explained:#}");
            let [(loops, estimated, read)] = seen.1[..] else {
                panic!("{what}: {:?}\n{explained:#}", seen.1);
            };
            assert_eq!(loops, 1.0, "{what}: built once\n{explained:#}");
            match what {
                // At most the items the page's 100 lines name there.
                "a page" => assert!(read <= 100.0, "{what}: {read}\n{explained:#}"),
                _ => assert!(estimated > 10_000.0, "{what}: {estimated}\n{explained:#}"),
            }
        }
        drop(tx);
        db.close().await;
    }
}
