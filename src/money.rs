//! Exact money. Prices and quantities are read as the server's own text
//! (see `db::exact_text`) and kept as arbitrary-precision decimals, so no
//! PostgreSQL numeric type can overflow, round or truncate them. A value
//! that is not a usable number is kept as a [`Problem`] for its line.

use std::fmt;
use std::str::FromStr;

use bigdecimal::{BigDecimal, Zero};
use serde::{Serialize, Serializer};

/// A value whose plain form would be longer than this is not shown (a
/// legal `numeric` can have 131,072 digits): "value out of range".
pub const MAX_CHARS: i128 = 1000;

/// The whitespace [`Value::parse`] skips around a number: ASCII's (space,
/// tab, line feed, vertical tab, form feed, carriage return), as the
/// server's numeric input does.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// Why a value present in the data is not a usable number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `NaN` (numeric, real, double precision).
    NotANumber,
    Infinite {
        negative: bool,
    },
    /// Text that is not a number (a text column holding `N/A`).
    Unreadable(String),
    /// Exact, but too long to show.
    OutOfRange,
}

impl Problem {
    /// A few cells for a table cell; [`Display`](fmt::Display) says more.
    pub fn cell(&self) -> &'static str {
        match self {
            Problem::NotANumber => "NaN",
            Problem::Infinite { negative: false } => "Infinity",
            Problem::Infinite { negative: true } => "-Infinity",
            Problem::Unreadable(_) => "not a number",
            Problem::OutOfRange => "out of range",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotANumber => f.write_str("not a number (NaN)"),
            Problem::Infinite { negative } => {
                write!(f, "infinite ({}Infinity)", if *negative { "-" } else { "" })
            }
            Problem::Unreadable(text) => {
                let shown = crate::text::fit(&crate::text::sanitize(text), 40);
                write!(f, "not a number: {shown:?}")
            }
            Problem::OutOfRange => f.write_str("out of range"),
        }
    }
}

/// A price, quantity or amount: a number, nothing (NULL, no such item, not
/// sold there: never zero), or a value that is there but unusable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Value {
    #[default]
    Missing,
    /// Never a negative scale: `1e+30` is kept as `1000…0`.
    Number(BigDecimal),
    Invalid(Problem),
}

impl Value {
    /// Reads the server's text form of a value (`None`: NULL).
    pub fn from_text(text: Option<&str>) -> Value {
        text.map_or(Value::Missing, Value::parse)
    }

    /// Reads one value's text: numeric and float text forms, `NaN`,
    /// `Infinity`, `-Infinity`; anything else is [`Problem::Unreadable`].
    ///
    /// The orders' server-side totals read text by the same rules (see
    /// `Database::totals_sql`): the same whitespace around it (ASCII's,
    /// as PostgreSQL's numeric input skips), any exponent, and the same
    /// [`MAX_CHARS`] on the plain form (never on the text's length).
    pub fn parse(text: &str) -> Value {
        let trimmed = text.trim_matches(is_blank);
        let lower = trimmed.to_ascii_lowercase();
        match lower.as_str() {
            "nan" => return Value::Invalid(Problem::NotANumber),
            "infinity" | "+infinity" | "inf" => {
                return Value::Invalid(Problem::Infinite { negative: false })
            }
            "-infinity" | "-inf" => return Value::Invalid(Problem::Infinite { negative: true }),
            _ => {}
        }
        // from_str also takes forms like "1_000" or ".5"; only plain decimal
        // digits, a sign, a point and an exponent are a number here.
        let plain = !trimmed.is_empty()
            && trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
            && trimmed.chars().any(|c| c.is_ascii_digit());
        match BigDecimal::from_str(trimmed) {
            Ok(number) if plain => Value::checked(number),
            _ => Value::Invalid(Problem::Unreadable(text.to_string())),
        }
    }

    /// `number` as a value: scale at least 0, or out of range if too long.
    pub fn checked(number: BigDecimal) -> Value {
        let zero = number.is_zero();
        let digits = if zero {
            1
        } else {
            i128::from(number.digits().min(i64::MAX as u64) as i64)
        };
        let scale = i128::from(number.fractional_digit_count());
        let chars = if scale >= 0 {
            digits.max(scale + 1)
        } else if zero {
            // `0e5` is `0`, not `000000`.
            1
        } else {
            digits - scale
        };
        if chars > MAX_CHARS {
            Value::Invalid(Problem::OutOfRange)
        } else if scale < 0 {
            Value::Number(number.with_scale(0))
        } else {
            Value::Number(number)
        }
    }

    pub fn number(&self) -> Option<&BigDecimal> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Value::Invalid(p) => Some(p),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }

    /// A quantity as shown: without trailing zeros (`2.500` → `2.5`).
    pub fn quantity(self) -> Value {
        match self {
            Value::Number(n) => Value::checked(n.normalized()),
            other => other,
        }
    }

    /// `quantity × price`, exact: trailing zeros stripped, but never below
    /// the price's own scale (`20.00 × 3 = 60.00`, `19.99 × 2.5 = 49.975`).
    /// Unknown unless both are numbers.
    pub fn line_total(quantity: &Value, price: &Value) -> Value {
        let (Some(q), Some(p)) = (quantity.number(), price.number()) else {
            return Value::Missing;
        };
        let product = (q * p).normalized();
        let scale = p.fractional_digit_count().max(0);
        if product.fractional_digit_count() < scale {
            Value::checked(product.with_scale(scale))
        } else {
            Value::checked(product)
        }
    }

    /// The exact sum, at the largest scale of its terms; unknown as soon as
    /// one term is not a number (never a sum over a gap).
    pub fn sum<'a>(values: impl IntoIterator<Item = &'a Value>) -> Value {
        let mut sum = Sum::default();
        for value in values {
            sum.add(value);
        }
        sum.value()
    }

    /// `self − other` when both are numbers.
    pub fn minus(&self, other: &Value) -> Value {
        match (self.number(), other.number()) {
            (Some(a), Some(b)) => Value::checked(a - b),
            _ => Value::Missing,
        }
    }

    /// For a screen or table: the exact value with thousands separators,
    /// `—` when missing, the problem in a few words when unusable.
    pub fn cell(&self) -> String {
        match self {
            Value::Number(n) => crate::text::money(n),
            Value::Missing => "—".into(),
            Value::Invalid(p) => p.cell().into(),
        }
    }

    /// For CSV: the exact digits, empty when not a number.
    pub fn csv(&self) -> String {
        self.plain().unwrap_or_default()
    }

    /// The exact digits (`-1234.50`), `None` when not a number.
    pub fn plain(&self) -> Option<String> {
        self.number().map(BigDecimal::to_plain_string)
    }
}

/// [`Value::sum`] a term at a time, for terms that are not held
/// together: exact, at the largest scale of its terms, and unknown as soon
/// as one term is not a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Sum(Option<BigDecimal>);

impl Default for Sum {
    fn default() -> Sum {
        Sum(Some(BigDecimal::from(0)))
    }
}

impl Sum {
    pub fn add(&mut self, value: &Value) {
        let Some(n) = value.number() else {
            self.0 = None;
            return;
        };
        if let Some(sum) = &mut self.0 {
            *sum += n;
        }
    }

    /// The sum so far (checked: out of range is no number).
    pub fn value(&self) -> Value {
        self.0.clone().map_or(Value::Missing, Value::checked)
    }
}

impl From<BigDecimal> for Value {
    fn from(number: BigDecimal) -> Value {
        Value::checked(number)
    }
}

/// A JSON number with the value's exact digits, or `null`.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.plain() {
            Some(plain) => serde_json::Number::from_str(&plain)
                .map_err(serde::ser::Error::custom)?
                .serialize(serializer),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Value {
        Value::parse(text)
    }

    fn plain(value: &Value) -> String {
        value.plain().unwrap()
    }

    #[test]
    fn reads_every_server_text_form() {
        assert_eq!(plain(&n("5000.00")), "5000.00", "numeric keeps its scale");
        assert_eq!(plain(&n("1e+30")), "1000000000000000000000000000000");
        assert_eq!(plain(&n("1.5e-07")), "0.00000015");
        assert_eq!(plain(&n("-0.01")), "-0.01");
        assert_eq!(n("NaN"), Value::Invalid(Problem::NotANumber));
        assert_eq!(
            n("-Infinity"),
            Value::Invalid(Problem::Infinite { negative: true })
        );
        assert_eq!(n("N/A"), Value::Invalid(Problem::Unreadable("N/A".into())));
        assert_eq!(
            n("N/A").problem().unwrap().to_string(),
            "not a number: \"N/A\""
        );
        for odd in ["", "1_000", "$5.00", "0x10", "1,5", "e"] {
            assert!(!n(odd).is_number(), "{odd:?}");
        }
        assert_eq!(Value::from_text(None), Value::Missing);
        assert_eq!(n("1e2000"), Value::Invalid(Problem::OutOfRange));
        assert_eq!(n(&"9".repeat(1001)), Value::Invalid(Problem::OutOfRange));
        assert!(n(&"9".repeat(1000)).is_number());
    }

    #[test]
    fn products_are_exact_at_the_scale_of_the_data() {
        let total = |q: &str, p: &str| plain(&Value::line_total(&n(q).quantity(), &n(p)));
        assert_eq!(plain(&n("2.500").quantity()), "2.5");
        assert_eq!(plain(&n("30").quantity()), "30");
        assert_eq!(total("2.500", "19.99"), "49.975");
        assert_eq!(total("3", "20.00"), "60.00");
        assert_eq!(total("3", "19.99"), "59.97");
        assert_eq!(total("0.001", "19.99"), "0.01999");
        assert_eq!(total("0.001", "19.9"), "0.0199");
        assert_eq!(
            total("9223372036854775807", "9999999999.99"),
            "92233720368455524349631452241.93"
        );
        assert_eq!(Value::line_total(&Value::Missing, &n("1")), Value::Missing);
        assert_eq!(
            Value::line_total(&n("1"), &n("NaN")),
            Value::Missing,
            "the price shows the problem, the total is unknown"
        );
    }

    #[test]
    fn sums_never_cover_a_gap() {
        let values = [n("60.00"), n("49.975"), n("1")];
        assert_eq!(plain(&Value::sum(&values)), "110.975");
        assert_eq!(plain(&Value::sum(&[])), "0");
        let gap = [n("60.00"), Value::Missing];
        assert_eq!(Value::sum(&gap), Value::Missing);
        assert_eq!(plain(&n("10").minus(&n("2.50"))), "7.50");
    }

    #[test]
    fn json_numbers_keep_their_digits() {
        let json =
            serde_json::to_string(&[n("2.5"), n("5000.00"), Value::Missing, n("1e+30")]).unwrap();
        assert_eq!(json, "[2.5,5000.00,null,1000000000000000000000000000000]");
    }
}
