//! Configured names are identifiers, never SQL. Every `[tenancy]` key that
//! names a table or a column is quoted where it is used; this module holds
//! what is refused before and at connect time: a column whose name says it
//! holds a secret (any key naming a column, with the settings), a column
//! the connecting role may not read (with the catalog), and
//! `registry_schema`, the one key that is more than a name: a small
//! expression over the registry's columns (a column; `coalesce`, `||`,
//! `->>` and casts over columns and string literals) parsed here and
//! written back as SQL by tenantscope, every column quoted, never the
//! configured text itself.

use super::{ItemsModel, TenancyModel};

/// `name` as a quoted identifier: always quoted, which names exactly the
/// same object as the server's `quote_ident` (that quotes only when needed).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a string literal, as the server's `quote_literal` writes it
/// (an `E''` literal when it holds a backslash, whatever
/// `standard_conforming_strings` says).
pub fn quote_literal(text: &str) -> String {
    let doubled = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", doubled.replace('\\', "\\\\"))
    } else {
        format!("'{doubled}'")
    }
}

/// Column names that say they hold a secret or key material, in any
/// letter case. It errs on the side of refusing: a refused column can be
/// renamed in a view, a read one cannot be unread.
pub fn is_secret_column(column: &str) -> bool {
    let name = column.to_lowercase();
    let words = [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "pwd",
        "hash",
        "token",
        "salt",
        "credential",
        "api_key",
        "apikey",
        "private_key",
        "privkey",
        "secret_key",
        "access_key",
        "signing_key",
        "encryption_key",
        "session_key",
        "ssh_key",
        "totp",
    ];
    words.iter().any(|word| name.contains(word))
        || ["pw", "otp", "pin"].iter().any(|word| {
            name == *word
                || name.starts_with(&format!("{word}_"))
                || name.ends_with(&format!("_{word}"))
        })
}

/// Every `[tenancy]` key naming a column (registry, link, users, items,
/// orders), with its value; `registry_schema` gives the columns it reads.
pub fn column_keys(model: &TenancyModel) -> Vec<(&'static str, String)> {
    let (users, user, items, orders) = (
        &model.users,
        &model.users.columns,
        &model.items,
        &model.orders,
    );
    let registry = &model.schemas.registry;
    let mut keys: Vec<(&'static str, String)> = vec![
        ("tenancy.tenant_column", users.tenant_column.clone()),
        ("tenancy.user_id", user.id.clone()),
        ("tenancy.user_name", user.name.clone()),
        ("tenancy.user_mail", user.mail.clone()),
        ("tenancy.user_created", user.created.clone()),
        ("tenancy.item_id", items.id.clone()),
        ("tenancy.item_label", items.label.clone()),
        ("tenancy.item_price", items.price.clone()),
        ("tenancy.order_user", orders.user.clone()),
        ("tenancy.order_item", orders.item.clone()),
        ("tenancy.order_quantity", orders.quantity.clone()),
    ];
    if let Some(column) = ItemsModel::column_of(&items.matching) {
        keys.push(("tenancy.items_match", column.to_string()));
    }
    for (key, value) in [
        ("tenancy.registry_key", &registry.key),
        ("tenancy.registry_label", &registry.label),
        ("tenancy.link_user", &users.link.user),
        ("tenancy.link_tenant", &users.link.tenant),
    ] {
        if let Some(value) = value {
            keys.push((key, value.clone()));
        }
    }
    if let Some(Ok(expr)) = registry.schema.as_deref().map(SchemaExpr::parse) {
        for column in expr.columns() {
            keys.push(("tenancy.registry_schema", column.to_string()));
        }
    }
    keys
}

/// The settings' own checks of the names: `registry_schema` parses, and no
/// key names a secret column (before any connection).
pub fn check_names(model: &TenancyModel) -> Result<(), String> {
    if let Some(text) = &model.schemas.registry.schema {
        SchemaExpr::parse(text).map_err(|why| {
            format!(
                "invalid configuration: tenancy.registry_schema {}: {why} \
                 (a column of the registry, or coalesce, || , ->> and casts over its \
                 columns and 'literals'; it is never run as SQL)",
                crate::text::quoted(text)
            )
        })?;
    }
    if let Some((key, column)) = column_keys(model)
        .into_iter()
        .find(|(_, column)| is_secret_column(column))
    {
        return Err(secret_message(key, &column));
    }
    Ok(())
}

/// The refusal of a secret column named by `key`.
pub fn secret_message(key: &str, column: &str) -> String {
    format!(
        "invalid configuration: {key} {} looks like a password column or another \
         secret, which tenantscope never reads",
        crate::text::quoted(column)
    )
}

/// The refusal of a column the role may not read, or one that is not there.
pub fn unreadable_message(key: &str, column: &str, table: &str, exists: bool) -> String {
    if exists {
        format!(
            "{key} {}: this role may not read that column of {} (a secret?)",
            crate::text::quoted(column),
            crate::text::sanitize(table)
        )
    } else {
        format!(
            "{key} {}: no such column in {}",
            crate::text::quoted(column),
            crate::text::sanitize(table)
        )
    }
}

/// `registry_schema`, parsed: what a registry row's schema name is.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaExpr {
    Column(String),
    Literal(String),
    /// `expr::type` (text, varchar, json or jsonb only).
    Cast(Box<SchemaExpr>, &'static str),
    /// `expr ->> 'key'`.
    Field(Box<SchemaExpr>, String),
    Concat(Vec<SchemaExpr>),
    Coalesce(Vec<SchemaExpr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Quoted(String),
    Literal(String),
    Open,
    Close,
    Comma,
    Concat,
    Cast,
    Arrow,
}

const TYPES: [&str; 4] = ["text", "varchar", "json", "jsonb"];
/// Deeper nesting is not a schema name.
const MAX_DEPTH: usize = 8;

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '|' | ':' | '-' => {
                let need = if c == '-' { 3 } else { 2 };
                let op: String = (0..need).filter_map(|_| chars.next()).collect();
                out.push(match op.as_str() {
                    "||" => Token::Concat,
                    "::" => Token::Cast,
                    "->>" => Token::Arrow,
                    _ => return Err(format!("{} is not allowed", crate::text::quoted(&op))),
                });
            }
            '\'' | '"' => {
                chars.next();
                let mut body = String::new();
                loop {
                    match chars.next() {
                        None => return Err("an unclosed quote".into()),
                        Some(q) if q == c => {
                            if chars.peek() == Some(&c) {
                                chars.next();
                                body.push(c);
                            } else {
                                break;
                            }
                        }
                        Some(ch) if ch.is_control() => {
                            return Err("a control character".into());
                        }
                        Some(ch) => body.push(ch),
                    }
                }
                out.push(if c == '\'' {
                    Token::Literal(body)
                } else {
                    Token::Quoted(body)
                });
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || ch == '_' {
                        name.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Name(name));
            }
            other => {
                return Err(format!(
                    "{} is not allowed",
                    crate::text::quoted(&other.to_string())
                ))
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expr(&mut self, depth: usize) -> Result<SchemaExpr, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        let mut parts = vec![self.term(depth)?];
        while self.peek() == Some(&Token::Concat) {
            self.next();
            parts.push(self.term(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            SchemaExpr::Concat(parts)
        })
    }

    fn term(&mut self, depth: usize) -> Result<SchemaExpr, String> {
        let mut term = match self.next() {
            Some(Token::Name(name)) if self.peek() == Some(&Token::Open) => {
                if !name.eq_ignore_ascii_case("coalesce") {
                    return Err(format!(
                        "function {} is not allowed (only coalesce)",
                        crate::text::quoted(&name)
                    ));
                }
                self.next();
                let mut args = vec![self.expr(depth + 1)?];
                loop {
                    match self.next() {
                        Some(Token::Comma) => args.push(self.expr(depth + 1)?),
                        Some(Token::Close) => break,
                        _ => return Err("coalesce( is not closed".into()),
                    }
                }
                SchemaExpr::Coalesce(args)
            }
            // An unquoted name folds to lower case, as in SQL.
            Some(Token::Name(name)) => SchemaExpr::Column(name.to_ascii_lowercase()),
            Some(Token::Quoted(name)) if !name.is_empty() => SchemaExpr::Column(name),
            Some(Token::Literal(text)) => SchemaExpr::Literal(text),
            Some(Token::Open) => {
                let inner = self.expr(depth + 1)?;
                if self.next() != Some(Token::Close) {
                    return Err("a ( is not closed".into());
                }
                inner
            }
            _ => return Err("a column or a 'literal' was expected".into()),
        };
        loop {
            match self.peek() {
                Some(Token::Cast) => {
                    self.next();
                    let Some(Token::Name(ty)) = self.next() else {
                        return Err("a type was expected after ::".into());
                    };
                    let Some(ty) = TYPES.iter().find(|t| t.eq_ignore_ascii_case(&ty)) else {
                        return Err(format!(
                            "cast to {} is not allowed (text, varchar, json, jsonb)",
                            crate::text::quoted(&ty)
                        ));
                    };
                    term = SchemaExpr::Cast(Box::new(term), ty);
                }
                Some(Token::Arrow) => {
                    self.next();
                    let Some(Token::Literal(key)) = self.next() else {
                        return Err("a 'key' was expected after ->>".into());
                    };
                    term = SchemaExpr::Field(Box::new(term), key);
                }
                _ => return Ok(term),
            }
        }
    }
}

impl SchemaExpr {
    pub fn parse(text: &str) -> Result<SchemaExpr, String> {
        let mut parser = Parser {
            tokens: tokens(text)?,
            at: 0,
        };
        if parser.tokens.is_empty() {
            return Err("it is empty".into());
        }
        let expr = parser.expr(0)?;
        if parser.at != parser.tokens.len() {
            return Err("unexpected text after the expression".into());
        }
        if expr.columns().is_empty() {
            return Err("it reads no column of the registry".into());
        }
        Ok(expr)
    }

    /// The registry columns it reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            SchemaExpr::Column(name) => vec![name.as_str()],
            SchemaExpr::Literal(_) => Vec::new(),
            SchemaExpr::Cast(inner, _) | SchemaExpr::Field(inner, _) => inner.columns(),
            SchemaExpr::Concat(parts) | SchemaExpr::Coalesce(parts) => {
                parts.iter().flat_map(SchemaExpr::columns).collect()
            }
        }
    }

    /// The SQL tenantscope writes for it: every column quoted as an
    /// identifier (unqualified: it is read over the registry's rows),
    /// every literal as a literal.
    pub fn to_sql(&self) -> String {
        match self {
            SchemaExpr::Column(name) => quote_ident(name),
            SchemaExpr::Literal(text) => quote_literal(text),
            SchemaExpr::Cast(inner, ty) => format!("({})::{ty}", inner.to_sql()),
            SchemaExpr::Field(inner, key) => {
                format!("({} ->> {})", inner.to_sql(), quote_literal(key))
            }
            SchemaExpr::Concat(parts) => format!("({})", texts(parts, " || ")),
            SchemaExpr::Coalesce(parts) => format!("coalesce({})", texts(parts, ", ")),
        }
    }
}

/// Each part as text, joined by `separator`.
fn texts(parts: &[SchemaExpr], separator: &str) -> String {
    parts
        .iter()
        .map(|p| format!("({})::text", p.to_sql()))
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layouts_expressions_parse_and_are_rewritten_quoted() {
        let stancl = "coalesce(data::jsonb ->> 'tenancy_db_name', 'tenant' || id::text)";
        assert_eq!(
            SchemaExpr::parse(stancl).unwrap().to_sql(),
            "coalesce((((\"data\")::jsonb ->> 'tenancy_db_name'))::text, \
             ((('tenant')::text || ((\"id\")::text)::text))::text)"
        );
        assert_eq!(
            SchemaExpr::parse("schema_name").unwrap().to_sql(),
            "\"schema_name\""
        );
        assert_eq!(
            SchemaExpr::parse("\"Sub\"\"Domain\"").unwrap().columns(),
            vec!["Sub\"Domain"]
        );
    }

    #[test]
    fn sql_is_refused() {
        for text in [
            "(select string_agg(u.password, ',') from public.users u)",
            "schema_name; drop table users",
            "pg_sleep(10)",
            "schema_name -- x",
            "schema_name /* */",
            "id::regclass",
            "'a' || 'b'",
            "",
            "x.y",
            "1",
            "coalesce(",
            "schema_name union select password from users",
        ] {
            assert!(SchemaExpr::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn secret_names_are_refused_for_every_column_key() {
        for key in [
            "password",
            "PassWord",
            "password_hash",
            "api_token",
            "client_secret",
            "private_key",
            "salt",
            "otp_seed",
        ] {
            assert!(is_secret_column(key), "{key}");
        }
        for key in [
            "id",
            "name",
            "schema_name",
            "organization_id",
            "mail",
            "data",
        ] {
            assert!(!is_secret_column(key), "{key}");
        }
        let mut model = TenancyModel::default();
        model.schemas.registry.table = Some("tenants".into());
        model.schemas.registry.key = Some("id".into());
        model.schemas.registry.schema = Some("coalesce(password, id)".into());
        let refused = check_names(&model).unwrap_err();
        assert!(refused.contains("tenancy.registry_schema"), "{refused}");
    }
}
