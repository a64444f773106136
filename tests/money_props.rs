//! Property: for random quantities and prices of every supported type,
//! stored in a real table of that type, every line total and the total
//! equal the server's own numeric arithmetic on the same values, or are
//! explicitly unknown when that arithmetic has no finite answer (NULL, NaN,
//! infinite, text that is no number) — never silently different.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sqlx::{Connection, PgConnection};
use tenantscope::cli::Format;
use tenantscope::db::Database;
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::money::{Value, MAX_CHARS};

mod common;
use common::connect;

const QUANTITY_TYPES: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "numeric",
    "numeric(10,3)",
    "real",
    "double precision",
    "money",
    "text",
];
const PRICE_TYPES: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "numeric",
    "numeric(12,2)",
    "real",
    "double precision",
    "money",
    "text",
];

/// `digits` with `scale` decimals: 12345, 2 → "123.45".
fn decimal(digits: i128, scale: u32) -> String {
    let sign = if digits < 0 { "-" } else { "" };
    let text = digits.unsigned_abs().to_string();
    if scale == 0 {
        return format!("{sign}{text}");
    }
    let text = format!("{text:0>width$}", width = scale as usize + 1);
    let (whole, fraction) = text.split_at(text.len() - scale as usize);
    format!("{sign}{whole}.{fraction}")
}

/// A value's text, valid input for a column of `sql_type` (or, for text,
/// sometimes no number at all); `None` is NULL.
fn value_of(sql_type: &'static str) -> BoxedStrategy<Option<String>> {
    let value: BoxedStrategy<String> = match sql_type {
        "smallint" => any::<i16>().prop_map(|v| v.to_string()).boxed(),
        "integer" => any::<i32>().prop_map(|v| v.to_string()).boxed(),
        "bigint" => any::<i64>().prop_map(|v| v.to_string()).boxed(),
        "numeric" => prop_oneof![
            6 => (any::<i64>(), 0u32..9).prop_map(|(d, s)| decimal(d.into(), s)),
            2 => (1u32..10, 15u32..40).prop_map(|(d, e)| format!("{d}e{e}")),
            1 => Just("NaN".to_string()),
            1 => Just("Infinity".to_string()),
            1 => Just("-Infinity".to_string()),
        ]
        .boxed(),
        "numeric(12,2)" => (-999_999_999_999_i64..=999_999_999_999)
            .prop_map(|d| decimal(d.into(), 2))
            .boxed(),
        "numeric(10,3)" => (-9_999_999_999i64..=9_999_999_999)
            .prop_map(|d| decimal(d.into(), 3))
            .boxed(),
        "real" => any::<f32>().prop_map(float_text).boxed(),
        "double precision" => any::<f64>().prop_map(float_text).boxed(),
        "money" => any::<i64>().prop_map(|c| decimal(c.into(), 2)).boxed(),
        "text" => prop_oneof![
            4 => (any::<i32>(), 0u32..4).prop_map(|(d, s)| decimal(d.into(), s)),
            1 => Just("N/A".to_string()),
        ]
        .boxed(),
        other => unreachable!("{other}"),
    };
    prop_oneof![9 => value.prop_map(Some), 1 => Just(None)].boxed()
}

fn float_text<F: Into<f64> + std::fmt::Display + Copy>(v: F) -> String {
    let wide: f64 = v.into();
    if wide.is_nan() {
        "NaN".into()
    } else if wide.is_infinite() {
        if wide > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        // Display is the shortest text that reads back to the same float.
        v.to_string()
    }
}

#[derive(Debug, Clone)]
struct Case {
    quantity_type: &'static str,
    price_type: &'static str,
    /// (quantity, price) per order line; each line has its own item.
    lines: Vec<(Option<String>, Option<String>)>,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(QUANTITY_TYPES),
        prop::sample::select(PRICE_TYPES),
    )
        .prop_flat_map(|(quantity_type, price_type)| {
            prop::collection::vec((value_of(quantity_type), value_of(price_type)), 0..6).prop_map(
                move |lines| Case {
                    quantity_type,
                    price_type,
                    lines,
                },
            )
        })
}

fn literal(value: &Option<String>) -> String {
    match value {
        Some(text) => format!("'{}'", text.replace('\'', "''")),
        None => "NULL".into(),
    }
}

/// The server's own numeric value of a column: floats through their text
/// form (what psql shows; their numeric cast keeps fewer digits), text only
/// when it is a plain decimal, everything else by the server's cast.
fn as_numeric(column: &str, sql_type: &str) -> String {
    match sql_type {
        "real" | "double precision" => format!("{column}::text::numeric"),
        "text" => {
            format!("CASE WHEN {column} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN {column}::numeric END")
        }
        _ => format!("{column}::numeric"),
    }
}

fn finite(text: &Option<String>) -> Option<BigDecimal> {
    match text.as_deref() {
        None | Some("NaN" | "Infinity" | "-Infinity") => None,
        Some(text) => Some(BigDecimal::from_str(text).unwrap()),
    }
}

async fn check(case: Case, db: &Database, admin: &mut PgConnection) -> Result<(), TestCaseError> {
    let mut sql = format!(
        "DROP SCHEMA IF EXISTS pc CASCADE; CREATE SCHEMA pc;
         CREATE TABLE pc.items (id text, description text, price {});
         CREATE TABLE pc.orders (id int, user_id text, item_id text, quantity {});",
        case.price_type, case.quantity_type
    );
    for (n, (quantity, price)) in case.lines.iter().enumerate() {
        sql += &format!(
            "INSERT INTO pc.items VALUES ('{n}', 'item {n}', {});
             INSERT INTO pc.orders VALUES ({n}, 'pc', '{n}', {});",
            literal(price),
            literal(quantity)
        );
    }
    sqlx::raw_sql(&sql).execute(&mut *admin).await.unwrap();

    // The reference: the server's numeric product per line, its sum, and
    // the price's scale, computed by the server from the stored values.
    let reference: Vec<(Option<String>, Option<String>, Option<i32>)> = sqlx::query_as(&format!(
        "SELECT ({q})::text, ({q} * {p})::text, scale({p})
           FROM pc.orders o JOIN pc.items i ON i.id = o.item_id ORDER BY o.id",
        q = as_numeric("o.quantity", case.quantity_type),
        p = as_numeric("i.price", case.price_type),
    ))
    .fetch_all(&mut *admin)
    .await
    .unwrap();

    let user = db.user("pc").await.unwrap();
    let report = db.priced_orders(&user, None).await.unwrap();
    prop_assert_eq!(report.lines.len(), reference.len());
    let mut exact_sum = Some(BigDecimal::from(0));
    let mut sum_scale = 0;
    for (line, (quantity, product, price_scale)) in report.lines.iter().zip(&reference) {
        if let Some(quantity) = finite(quantity) {
            prop_assert_eq!(line.quantity.number(), Some(&quantity));
            let shown = line.quantity.plain().unwrap();
            prop_assert!(!shown.contains('.') || !shown.ends_with('0'), "{}", shown);
        }
        match finite(product) {
            Some(product) if (product.to_plain_string().len() as i128) <= MAX_CHARS => {
                let total = line.total.number();
                prop_assert_eq!(total, Some(&product), "{:?}", line);
                // The scale: trailing zeros stripped, never below the price's.
                let wanted = product
                    .normalized()
                    .fractional_digit_count()
                    .max(i64::from(price_scale.unwrap_or(0)))
                    .max(0);
                prop_assert_eq!(total.unwrap().fractional_digit_count(), wanted);
                sum_scale = sum_scale.max(wanted);
                exact_sum = exact_sum.map(|sum| sum + product);
            }
            _ => {
                prop_assert!(!line.total.is_number(), "{:?} for {:?}", line, product);
                exact_sum = None;
            }
        }
    }
    match exact_sum {
        Some(sum) if (sum.to_plain_string().len() as i128) <= MAX_CHARS => {
            // The server's own sum agrees with the sum of its products.
            let total = report.totals.total.number();
            prop_assert_eq!(total, Some(&sum));
            prop_assert_eq!(total.unwrap().fractional_digit_count(), sum_scale);
        }
        Some(_) => prop_assert!(!report.totals.total.is_number()),
        None => prop_assert_eq!(
            &report.totals.total,
            &Value::Missing,
            "never a sum over a gap"
        ),
    }
    let server_sum: Option<String> = sqlx::query_scalar(&format!(
        "SELECT sum({q} * {p})::text FROM pc.orders o JOIN pc.items i ON i.id = o.item_id",
        q = as_numeric("o.quantity", case.quantity_type),
        p = as_numeric("i.price", case.price_type),
    ))
    .fetch_one(&mut *admin)
    .await
    .unwrap();
    if let (Some(ours), Some(server)) = (report.totals.total.number(), finite(&server_sum)) {
        prop_assert_eq!(ours, &server);
    }

    // JSON carries the same exact digits, or null.
    let json: serde_json::Value = serde_json::from_str(&tenantscope::output::orders(
        &user,
        &report,
        &tenantscope::db::TenantCatalog::default(),
        Format::Json,
        tenantscope::output::Destination::PipeOrFile,
    ))
    .unwrap();
    for (n, line) in report.lines.iter().enumerate() {
        let written = &json["orders"][n]["total"];
        match line.total.plain() {
            Some(plain) => prop_assert_eq!(written.to_string(), plain),
            None => prop_assert!(written.is_null()),
        }
    }
    Ok(())
}

#[test]
fn line_totals_and_totals_are_exact_or_explicitly_unknown() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (test_db, db, admin) = runtime.block_on(async {
        let test_db = TestDatabase::reference().await;
        test_db
            .run_sql(
                "INSERT INTO public.users (id, name, mail, password, organization_id)
                     VALUES ('pc', 'prop_dude', 'p@x', 'pw', 'pc');",
            )
            .await;
        let admin = PgConnection::connect_with(&test_db.options).await.unwrap();
        let db = connect(&test_db).await;
        (test_db, db, admin)
    });
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let admin = std::cell::RefCell::new(admin);
    let result = runner.run(&cases(), |case| {
        runtime.block_on(check(case, &db, &mut admin.borrow_mut()))
    });
    drop(test_db);
    if let Err(error) = result {
        panic!("{error}");
    }
}
