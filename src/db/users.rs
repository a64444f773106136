//! The shared users table. The password column is never selected.

use serde::Serialize;

use super::catalog::TenantCatalog;
use super::{Database, DbError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub mail: String,
    /// The organization id as stored: a tenant schema name, or anything else.
    pub tenant: Option<String>,
    pub created: Option<String>,
}

/// Whether a user's organization id names an existing tenant schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantStatus {
    Present,
    Missing,
    NoTenant,
}

impl TenantCatalog {
    pub fn status_of(&self, user: &User) -> TenantStatus {
        match user.tenant.as_deref() {
            None | Some("") => TenantStatus::NoTenant,
            Some(tenant) if self.contains(tenant) => TenantStatus::Present,
            Some(_) => TenantStatus::Missing,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserQuery {
    /// Case-insensitive substring of name, mail or tenant.
    pub filter: Option<String>,
    pub limit: Option<i64>,
}

/// `ILIKE` pattern matching `text` literally anywhere.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

impl Database {
    pub(super) fn user_columns(&self) -> String {
        format!(
            "u.id::text, coalesce(u.name::text, ''), coalesce(u.mail::text, ''),
             u.{}::text, u.creation_timestamp::text",
            self.layout.tenant_column
        )
    }

    /// Users ordered by name then id.
    pub async fn users(&self, query: &UserQuery) -> Result<Vec<User>, DbError> {
        let mut tx = self.read_tx().await?;
        let sql = format!(
            "SELECT {columns} FROM {users} u
              WHERE $1::text IS NULL
                 OR u.name::text ILIKE $1 OR u.mail::text ILIKE $1 OR u.{tenant}::text ILIKE $1
              ORDER BY u.name, u.id
              LIMIT $2",
            columns = self.user_columns(),
            users = self.layout.users_table,
            tenant = self.layout.tenant_column,
        );
        let rows: Vec<UserRow> = sqlx::query_as(&sql)
            .bind(
                query
                    .filter
                    .as_deref()
                    .filter(|f| !f.is_empty())
                    .map(contains_pattern),
            )
            .bind(query.limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        Ok(rows.into_iter().map(into_user).collect())
    }

    /// One user by id (compared as text, whatever the id column's type).
    pub async fn user(&self, id: &str) -> Result<User, DbError> {
        let mut tx = self.read_tx().await?;
        let sql = format!(
            "SELECT {columns} FROM {users} u WHERE u.id::text = $1",
            columns = self.user_columns(),
            users = self.layout.users_table,
        );
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        row.map(into_user)
            .ok_or_else(|| DbError::UserNotFound(id.to_string()))
    }
}

pub(super) type UserRow = (String, String, String, Option<String>, Option<String>);

pub(super) fn into_user((id, name, mail, tenant, created): UserRow) -> User {
    User {
        id,
        name,
        mail,
        tenant,
        created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_pattern_is_literal() {
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }

    #[test]
    fn tenant_status_is_exact() {
        let catalog = TenantCatalog::new(vec!["acme".into()]);
        let user = |tenant: Option<&str>| User {
            id: "1".into(),
            name: "n".into(),
            mail: "m".into(),
            tenant: tenant.map(str::to_string),
            created: None,
        };
        assert_eq!(
            catalog.status_of(&user(Some("acme"))),
            TenantStatus::Present
        );
        assert_eq!(
            catalog.status_of(&user(Some("Acme"))),
            TenantStatus::Missing
        );
        assert_eq!(catalog.status_of(&user(Some(""))), TenantStatus::NoTenant);
        assert_eq!(catalog.status_of(&user(None)), TenantStatus::NoTenant);
    }
}
