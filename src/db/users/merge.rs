//! The whole users list where users live in each of many tenant schemas
//! (`users`, [`Database::stream_users`]): each batch of tenants' users
//! tables is read in its own keyset pages, and the pages are merged in the
//! list's order.
//!
//! Reading the list page by page instead, every page of 1,000 users read
//! every batch again (each tenant's part limited to 1,000 users: at 3,000
//! tenants of 10–20 users that is all of them, 45 times over).

use std::collections::VecDeque;

use super::{OrderKey, Page, PageRequest, UserKey, UserRow, PER_TENANT_BATCH, STREAM_BATCH};
use crate::db::{Database, DbError, ReadTx};

/// About how many users a merge reads at a time, all batches together:
/// each batch reads this many divided by the batches not yet read to
/// their end at a time (at least [`MIN_FETCH`], at most [`STREAM_BATCH`]),
/// and again once half of that is left, so a merge holds up to about 1.5
/// times this many read ahead: memory stays flat whatever the list's
/// length.
const MERGE_ROWS: usize = 20_000;

/// The fewest users a batch reads at a time (at 10,000 tenants: 200
/// batches of 250).
const MIN_FETCH: usize = 100;

/// One batch of tenants' users tables in a merge.
struct Batch {
    /// Its tenants: [`Database::live_branches`]' range.
    from: usize,
    to: usize,
    /// Its statement reading the users after a key (`$2`, `$3`, and the
    /// tenant `$7`), built once: the same text every read.
    after_sql: String,
    /// The key of the last user read from it (its tenant included).
    last: Option<UserKey>,
    /// Its users in the queue.
    queued: usize,
    /// Read to its end.
    done: bool,
}

/// The list's users in its order, read ahead batch by batch.
pub(super) struct UserMerge<'a> {
    /// The filter (its page and limit are each read's own).
    request: PageRequest<'a>,
    batches: Vec<Batch>,
    /// The most users the list needs.
    limit: usize,
    /// Users read and not yet handed out, in the list's order, each with
    /// its batch.
    queue: VecDeque<(usize, UserRow)>,
}

impl Database {
    /// A merge of every batch's users matching `request`'s filter, from
    /// the list's start, reading no more than `request.limit` at a time
    /// from a batch.
    ///
    /// Its order is the list's, (name, id), and then the tenant: users of
    /// several tenants may share a name and an id (an admin each tenant
    /// was made with), and a batch read from after one of them must not
    /// skip the other tenants' copies.
    pub(super) fn user_merge<'a>(&self, request: &PageRequest<'a>) -> UserMerge<'a> {
        let live = self.live_branches();
        let batches = (0..live.len())
            .step_by(PER_TENANT_BATCH)
            .map(|from| {
                let to = (from + PER_TENANT_BATCH).min(live.len());
                Batch {
                    from,
                    to,
                    after_sql: self.batch_sql(&live[from..to], request, true),
                    last: None,
                    queued: 0,
                    done: false,
                }
            })
            .collect();
        UserMerge {
            request: *request,
            batches,
            limit: usize::try_from(request.limit).unwrap_or(usize::MAX),
            queue: VecDeque::new(),
        }
    }

    /// The statement reading `branches`' users of `request`'s filter in
    /// the merge's order, at most `$4` of them: the first, or (`after`)
    /// those after the key `$2`, `$3` and the tenant `$7`.
    fn batch_sql(
        &self,
        branches: &[&crate::db::tenancy::TenantBranch],
        request: &PageRequest<'_>,
        after: bool,
    ) -> String {
        let first = PageRequest {
            page: &Page::First,
            tenant: None,
            ..*request
        };
        let (mut condition, _, _) = self.keyset_parts(&first);
        // The list's key, and the tenant whether or not the layout's key
        // has it (users in each tenant schema: it does).
        let (name, id) = (&self.tables.name_key, &self.tables.id_key);
        let tenant = self.tenant_key();
        if after {
            condition.push_str(&format!(
                " AND ({name}, {id}, {tenant}) > {}",
                self.key_params(true)
            ));
        }
        let order = format!("{name} ASC, {id} ASC, {tenant} ASC");
        format!(
            "{} ORDER BY {order} LIMIT $4",
            self.users_where_branches(branches, &condition, &order, "$4")
        )
    }
}

impl UserMerge<'_> {
    /// This merge from after `key` in the list's order: every batch reads
    /// on from there.
    pub(super) fn after(mut self, key: &UserKey) -> Self {
        for batch in &mut self.batches {
            batch.last = Some(UserKey {
                pinned: false,
                ..key.clone()
            });
        }
        self
    }

    /// The list's next users in its order, at most `most` (none: its end).
    /// Reads again only the batches whose users ran out (and, with them,
    /// those running low), then hands out every user that no unread one
    /// can come before.
    pub(super) async fn next(
        &mut self,
        db: &Database,
        tx: &mut ReadTx,
        most: usize,
    ) -> Result<Vec<UserRow>, DbError> {
        if self.batches.iter().any(|b| !b.done && b.queued == 0) {
            self.refill(db, tx).await?;
        }
        // Up to the first user that is the last read of a batch with more
        // to read: its next users come after it, and every other batch's
        // unread users after their own last read, which comes later.
        let mut seen = vec![0; self.batches.len()];
        let mut ready = self.queue.len();
        for (at, (index, _)) in self.queue.iter().enumerate() {
            seen[*index] += 1;
            let batch = &self.batches[*index];
            if !batch.done && seen[*index] == batch.queued {
                ready = at + 1;
                break;
            }
        }
        let taken: Vec<UserRow> = self
            .queue
            .drain(..ready.min(most))
            .map(|(batch, row)| {
                self.batches[batch].queued -= 1;
                row
            })
            .collect();
        Ok(taken)
    }

    /// Reads the next users of every batch that has more and whose queued
    /// users ran out or run low (at most half a read left), side by side
    /// or in turn as [`Database::batch_rows`] does, and merges them into
    /// the queue in the list's order, which the server gives (one
    /// statement, in the collation each batch's statement sorts by).
    async fn refill(&mut self, db: &Database, tx: &mut ReadTx) -> Result<(), DbError> {
        let reading = self.batches.iter().filter(|b| !b.done).count().max(1);
        let fetch = (MERGE_ROWS / reading)
            .clamp(MIN_FETCH, STREAM_BATCH)
            .min(self.limit)
            .max(1);
        let low = fetch / 2;
        let due: Vec<usize> = (0..self.batches.len())
            .filter(|&i| !self.batches[i].done && self.batches[i].queued <= low)
            .collect();
        let live = db.live_branches();
        let pages: Vec<Page> = due
            .iter()
            .map(|&i| match &self.batches[i].last {
                Some(key) => Page::After(key.clone()),
                None => Page::First,
            })
            .collect();
        let requests: Vec<PageRequest> = pages
            .iter()
            .map(|page| PageRequest {
                page,
                limit: fetch as i64,
                tenant: None,
                ..self.request
            })
            .collect();
        let texts: Vec<std::borrow::Cow<str>> = due
            .iter()
            .map(|&i| {
                let batch = &self.batches[i];
                match batch.last {
                    None => db
                        .batch_sql(&live[batch.from..batch.to], &self.request, false)
                        .into(),
                    Some(_) => batch.after_sql.as_str().into(),
                }
            })
            .collect();
        let statements: Vec<(&str, &PageRequest)> =
            texts.iter().map(|t| t.as_ref()).zip(&requests).collect();
        let lanes = db.batch_lanes();
        let answers = db.batch_rows(tx, lanes.as_ref(), &statements, None).await?;
        drop(lanes);
        let mut fresh: Vec<(usize, UserRow)> = Vec::new();
        for (&i, rows) in due.iter().zip(answers) {
            let batch = &mut self.batches[i];
            batch.done = rows.len() < fetch;
            if let Some(row) = rows.last() {
                batch.last = Some(UserKey {
                    name: row.5.clone(),
                    id: row.6.clone(),
                    tenant: row.8.clone(),
                    ..UserKey::default()
                });
            }
            batch.queued += rows.len();
            fresh.extend(rows.into_iter().map(|row| (i, row)));
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let mut all: Vec<(usize, UserRow)> = std::mem::take(&mut self.queue).into();
        all.extend(fresh);
        let order = db
            .server_order(
                tx,
                all.iter().map(|(_, row)| OrderKey::from(row)),
                false,
                all.len() as i64,
                true,
            )
            .await?;
        // Each row moved to its place where it is (no second copy of them
        // all): `rank[i]` is where the row at `i` goes.
        let mut rank = vec![usize::MAX; all.len()];
        for (place, &i) in order.iter().enumerate() {
            if let Some(slot) = rank.get_mut(i) {
                *slot = place;
            }
        }
        if rank.contains(&usize::MAX) {
            return Err(DbError::Query(
                "the users' order came back incomplete".into(),
            ));
        }
        for i in 0..all.len() {
            while rank[i] != i {
                let to = rank[i];
                all.swap(i, to);
                rank.swap(i, to);
            }
        }
        self.queue = all.into();
        Ok(())
    }
}
