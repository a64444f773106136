//! Exact money. Prices and quantities are read as the server's own text
//! (see `db::exact_text`) and kept as arbitrary-precision decimals, so no
//! PostgreSQL numeric type can overflow, round or truncate them. A value
//! that is not a usable number is kept as a [`Problem`] for its line.

use std::fmt;
use std::str::FromStr;

use bigdecimal::num_bigint::BigInt;
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

/// A number as the server's totals read text (`server_number`):
/// `[-+]?(digits[.digits] | .digits)([eE][-+]?digits)?`. `BigDecimal`
/// also reads `1_000` and `.+5` (as 0.05).
fn is_plain_number(text: &str) -> bool {
    fn unsigned(part: &str) -> &str {
        part.strip_prefix(['-', '+']).unwrap_or(part)
    }
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (unsigned(&text[..at]), Some(unsigned(&text[at + 1..]))),
        None => (unsigned(text), None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    digits(whole)
        && digits(fraction)
        && !(whole.is_empty() && fraction.is_empty())
        && exponent.is_none_or(|e| !e.is_empty() && digits(e))
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
    /// NULL in a row that is there, where that differs from no row at all
    /// (the price matrix: an item sold at no price, not an item not sold).
    /// Elsewhere a NULL is [`Value::Missing`].
    Null,
    /// The own tenant's items table (no primary key) holds `items`
    /// different rows under the order's item id (other prices or
    /// descriptions): no one of them is the line's price. Copies that
    /// agree are one item, priced as such.
    Ambiguous {
        items: u64,
    },
    /// The key an item is matched by names items of the other tenant at
    /// different prices (two items described `Widget`, say): no one of
    /// them is that tenant's price for it.
    AmbiguousMatch,
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
            Problem::Null => "NULL",
            Problem::Ambiguous { .. } | Problem::AmbiguousMatch => "ambiguous",
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
                // Escaped once (by `fit`), a quote inside as `\"`.
                let shown = crate::text::fit(text, 40).replace('"', "\\\"");
                write!(f, "not a number: \"{shown}\"")
            }
            Problem::OutOfRange => f.write_str("out of range"),
            Problem::Null => f.write_str("NULL (no price)"),
            Problem::Ambiguous { items } => {
                write!(f, "ambiguous (the item id names {items} different items)")
            }
            Problem::AmbiguousMatch => {
                f.write_str("ambiguous (items at different prices match it there)")
            }
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

    /// Another tenant's price of a matched item, as the comparison reads
    /// it (see `Database::match_sql`): `ambiguous` where its key names
    /// items there at different prices.
    pub fn matched_price(text: Option<&str>, ambiguous: Option<bool>) -> Value {
        match ambiguous {
            Some(true) => Value::Invalid(Problem::AmbiguousMatch),
            _ => Value::from_text(text),
        }
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
        // The server's own text of a numeric or an integer, read at once.
        if let Some(small) = Small::parse(trimmed) {
            return small.value();
        }
        let lower = trimmed.to_ascii_lowercase();
        match lower.as_str() {
            "nan" => return Value::Invalid(Problem::NotANumber),
            "infinity" | "+infinity" | "inf" => {
                return Value::Invalid(Problem::Infinite { negative: false })
            }
            "-infinity" | "-inf" => return Value::Invalid(Problem::Infinite { negative: true }),
            _ => {}
        }
        match BigDecimal::from_str(trimmed) {
            Ok(number) if is_plain_number(trimmed) => Value::checked(number),
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
            Value::Number(n) => match Small::of(&n) {
                Some(small) => small.trimmed(0).value(),
                None => Value::checked(n.normalized()),
            },
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
        if let Some((q, p)) = Small::of(q).zip(Small::of(p)) {
            if let Some(product) = q.product(p) {
                return product.trimmed(p.scale).value();
            }
        }
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
            (Some(a), Some(b)) => match Small::of(a).zip(Small::of(b)) {
                Some((x, y)) => x
                    .add(y, true)
                    .map_or_else(|| Value::checked(a - b), Small::value),
                None => Value::checked(a - b),
            },
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
        let mut out = String::new();
        self.write_plain(&mut out).then_some(out)
    }

    /// [`Value::plain`] appended to `out`; false (nothing written) when
    /// not a number.
    pub fn write_plain(&self, out: &mut String) -> bool {
        let Some(n) = self.number() else {
            return false;
        };
        match Small::of(n) {
            Some(small) => small.write_plain(out),
            None => out.push_str(&n.to_plain_string()),
        }
        true
    }
}

/// [`Value::sum`] a term at a time, for terms that are not held
/// together: exact, at the largest scale of its terms, and unknown as soon
/// as one term is not a number.
///
/// Terms on the fast path are added as integers at their largest scale
/// ([`Small`]); the first term or step that does not fit moves the sum to
/// [`BigDecimal`] for good, with the same result.
#[derive(Debug, Clone)]
pub struct Sum(SumState);

#[derive(Debug, Clone)]
enum SumState {
    Small(Small),
    Big(BigDecimal),
    /// A term was not a number.
    Gap,
}

impl Default for Sum {
    fn default() -> Sum {
        Sum(SumState::Small(Small { m: 0, scale: 0 }))
    }
}

impl PartialEq for Sum {
    fn eq(&self, other: &Sum) -> bool {
        self.value() == other.value()
    }
}

impl Sum {
    pub fn add(&mut self, value: &Value) {
        let Some(n) = value.number() else {
            self.0 = SumState::Gap;
            return;
        };
        match &mut self.0 {
            SumState::Small(sum) => match Small::of(n).and_then(|term| sum.add(term, false)) {
                Some(next) => *sum = next,
                None => self.0 = SumState::Big(sum.big() + n),
            },
            SumState::Big(sum) => *sum += n,
            SumState::Gap => {}
        }
    }

    /// The sum so far (checked: out of range is no number).
    pub fn value(&self) -> Value {
        match &self.0 {
            SumState::Small(sum) => sum.value(),
            SumState::Big(sum) => Value::checked(sum.clone()),
            SumState::Gap => Value::Missing,
        }
    }
}

/// The fast path of exact money: a decimal whose digits fit an `i128`
/// (`m` × 10^-`scale`). Each operation gives exactly what the
/// [`BigDecimal`] path gives (the same digits and scale), or `None`, and
/// then that path runs: on an overflow, a scale past [`SMALL_SCALE`], or
/// text it does not read (an exponent, a `+`, whitespace inside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Small {
    m: i128,
    scale: u32,
}

/// Digits [`Small::parse`] reads (`i128` holds 38 of any kind).
const SMALL_DIGITS: usize = 36;
/// The largest scale on the fast path: with at most 39 digits its plain
/// form stays far under [`MAX_CHARS`], so it needs no check.
const SMALL_SCALE: u32 = 600;

impl Small {
    /// Plain decimal text, `-?[0-9]+(\.[0-9]+)?`, of at most
    /// [`SMALL_DIGITS`] digits: the server's own text of a numeric or an
    /// integer. Anything else is `None` (the slow path reads it).
    fn parse(text: &str) -> Option<Small> {
        let bytes = text.as_bytes();
        let (negative, digits) = match bytes.first()? {
            b'-' => (true, &bytes[1..]),
            _ => (false, bytes),
        };
        let (mut m, mut scale, mut count) = (0i128, 0u32, 0usize);
        let (mut point, mut whole) = (false, 0usize);
        for &b in digits {
            match b {
                b'0'..=b'9' => {
                    count += 1;
                    if count > SMALL_DIGITS {
                        return None;
                    }
                    m = m * 10 + i128::from(b - b'0');
                    if point {
                        scale += 1;
                    } else {
                        whole += 1;
                    }
                }
                b'.' if !point => point = true,
                _ => return None,
            }
        }
        if whole == 0 || (point && scale == 0) {
            return None;
        }
        Some(Small {
            m: if negative { -m } else { m },
            scale,
        })
    }

    /// `n` on the fast path, if its digits fit and its scale is in range.
    fn of(n: &BigDecimal) -> Option<Small> {
        let (digits, scale) = n.as_bigint_and_scale();
        let scale = u32::try_from(scale).ok().filter(|s| *s <= SMALL_SCALE)?;
        let m = i128::try_from(digits.as_ref()).ok()?;
        Some(Small { m, scale })
    }

    fn big(self) -> BigDecimal {
        BigDecimal::new(BigInt::from(self.m), i64::from(self.scale))
    }

    fn value(self) -> Value {
        Value::Number(self.big())
    }

    /// At scale `scale` (not below its own), if it fits.
    fn at(self, scale: u32) -> Option<Small> {
        let up = 10i128.checked_pow(scale.checked_sub(self.scale)?)?;
        Some(Small {
            m: self.m.checked_mul(up)?,
            scale,
        })
    }

    /// Without trailing zeros, but not below scale `floor` (zero at `floor`).
    fn trimmed(mut self, floor: u32) -> Small {
        while self.scale > floor && self.m % 10 == 0 {
            self.m /= 10;
            self.scale -= 1;
        }
        self
    }

    fn product(self, other: Small) -> Option<Small> {
        let scale = self.scale.checked_add(other.scale)?;
        (scale <= SMALL_SCALE).then_some(())?;
        Some(Small {
            m: self.m.checked_mul(other.m)?,
            scale,
        })
    }

    /// `self + sign × other` at the larger scale, if it fits.
    fn add(self, other: Small, negate: bool) -> Option<Small> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.at(scale)?, other.at(scale)?);
        let m = if negate {
            a.m.checked_sub(b.m)?
        } else {
            a.m.checked_add(b.m)?
        };
        Some(Small { m, scale })
    }

    /// The plain form, as [`BigDecimal::to_plain_string`] writes it.
    fn write_plain(self, out: &mut String) {
        let mut buffer = [0u8; 40];
        let mut at = buffer.len();
        let mut rest = self.m.unsigned_abs();
        loop {
            at -= 1;
            buffer[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let digits = &buffer[at..];
        let scale = self.scale as usize;
        if self.m < 0 {
            out.push('-');
        }
        let text = std::str::from_utf8(digits).expect("ASCII digits");
        if scale == 0 {
            out.push_str(text);
        } else if digits.len() > scale {
            let (whole, fraction) = text.split_at(digits.len() - scale);
            out.push_str(whole);
            out.push('.');
            out.push_str(fraction);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - digits.len()));
            out.push_str(text);
        }
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
        for odd in [
            "", "1_000", "$5.00", "0x10", "1,5", "e", ".+5", "1.+5", "5+", "1e5.0", "1e+", "-e5",
            ".", "+-5",
        ] {
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

    /// Exact decimal arithmetic without the fast path (the line total by
    /// the documented rule, step by step): the reference every fast
    /// result must equal, digit for digit and scale.
    mod reference {
        use super::*;

        pub fn parse(text: &str) -> Value {
            match BigDecimal::from_str(text.trim_matches(is_blank)) {
                Ok(number) => Value::checked(number),
                Err(_) => Value::parse(text),
            }
        }

        pub fn quantity(value: Value) -> Value {
            match value {
                Value::Number(n) => Value::checked(n.normalized()),
                other => other,
            }
        }

        /// The rule as the docs say it, step by step: the exact product,
        /// its trailing zeros dropped one at a time down to the price's
        /// scale, or padded up to it.
        pub fn line_total(quantity: &Value, price: &Value) -> Value {
            let (Some(q), Some(p)) = (quantity.number(), price.number()) else {
                return Value::Missing;
            };
            let floor = p.fractional_digit_count().max(0);
            let mut total = q * p;
            while total.fractional_digit_count() > floor {
                let shorter = total.with_scale(total.fractional_digit_count() - 1);
                if shorter != total {
                    break;
                }
                total = shorter;
            }
            if total.fractional_digit_count() < floor {
                total = total.with_scale(floor);
            }
            Value::checked(total)
        }

        pub fn minus(a: &Value, b: &Value) -> Value {
            match (a.number(), b.number()) {
                (Some(a), Some(b)) => Value::checked(a - b),
                _ => Value::Missing,
            }
        }

        pub fn sum(values: &[Value]) -> Value {
            let mut sum = Some(BigDecimal::from(0));
            for value in values {
                match (value.number(), &mut sum) {
                    (Some(n), Some(s)) => *s += n,
                    _ => sum = None,
                }
            }
            sum.map_or(Value::Missing, Value::checked)
        }
    }

    /// Digits and scale: `plain` shows both (`==` on numbers ignores scale).
    fn exact(value: &Value) -> String {
        match value {
            Value::Number(n) => format!(
                "{} (scale {})",
                n.to_plain_string(),
                n.fractional_digit_count()
            ),
            other => format!("{other:?}"),
        }
    }

    const NINES_36: &str = "999999999999999999999999999999999999";
    const NINES_37: &str = "9999999999999999999999999999999999999";

    /// Texts at the fast path's edges: signs, zeros at either end, the
    /// largest number of digits it reads and one more, scales apart,
    /// forms only the exact decimal path reads, and the non-numbers.
    fn edge_texts() -> Vec<String> {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.00",
            "-0.00",
            "-0.01",
            "0.001",
            "3",
            "-3",
            "2.500",
            "19.99",
            "5000.00",
            "-1234.50",
            "00012.300",
            "0.000000000000000000000000000000000001",
            "123456789012345678.123456789012345678",
            "9223372036854775807",
            "-9223372036854775808",
            " 12.50 ",
            "\t7\n",
            "+5",
            ".5",
            "5.",
            "1e3",
            "1.5e-07",
            "1E+30",
            "-.5",
            "1.2.3",
            "--1",
            "NaN",
            "Infinity",
            "-Infinity",
            "N/A",
            "",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        for digits in [NINES_36, NINES_37] {
            texts.push(digits.to_string());
            texts.push(format!("-{digits}"));
            texts.push(format!("0.{digits}"));
            texts.push(format!("-{}.{}", &digits[..18], &digits[18..]));
        }
        texts
    }

    #[test]
    fn fast_path_reads_and_writes_as_the_exact_path() {
        for text in edge_texts() {
            let fast = Value::parse(&text);
            let slow = reference::parse(&text);
            assert_eq!(exact(&fast), exact(&slow), "{text:?}");
            assert_eq!(
                fast.plain(),
                slow.number().map(BigDecimal::to_plain_string),
                "{text:?}"
            );
            assert_eq!(
                exact(&fast.clone().quantity()),
                exact(&reference::quantity(slow)),
                "quantity {text:?}"
            );
        }
        // A value read by the slow path (an exponent) is written by it too.
        assert_eq!(plain(&n("1e40")), format!("1{}", "0".repeat(40)));
        assert_eq!(plain(&n("-1.5e-3")), "-0.0015");
    }

    #[test]
    fn fast_products_differences_and_sums_are_the_exact_ones() {
        let values: Vec<Value> = edge_texts().iter().map(|t| n(t)).collect();
        for q in &values {
            let q = q.clone().quantity();
            for p in &values {
                let (fast, slow) = (Value::line_total(&q, p), reference::line_total(&q, p));
                assert_eq!(exact(&fast), exact(&slow), "{q:?} × {p:?}");
                let (fast, slow) = (q.minus(p), reference::minus(&q, p));
                assert_eq!(exact(&fast), exact(&slow), "{q:?} − {p:?}");
                let pair = [q.clone(), p.clone()];
                assert_eq!(exact(&Value::sum(&pair)), exact(&reference::sum(&pair)));
            }
        }
        let numbers: Vec<Value> = values.iter().filter(|v| v.is_number()).cloned().collect();
        assert_eq!(
            exact(&Value::sum(&numbers)),
            exact(&reference::sum(&numbers))
        );
    }

    #[test]
    fn a_sum_that_outgrows_the_fast_path_goes_on_exactly() {
        // 36 nines 200 times: past i128 (1.7e38) on the way.
        let big = n(NINES_36);
        let many = vec![big.clone(); 200];
        let sum = Value::sum(&many);
        assert_eq!(exact(&sum), exact(&reference::sum(&many)));
        assert_eq!(plain(&sum), format!("199{}800", "9".repeat(33)));
        // Aligning scales past i128: 1 beside 0.(36 digits).
        let mixed = [n("1"), n(&format!("0.{NINES_36}")), n("-2.5")];
        assert_eq!(exact(&Value::sum(&mixed)), exact(&reference::sum(&mixed)));
        // Back under the limit it stays exact (the slow path is for good).
        let mut back = many.clone();
        back.extend(vec![n(&format!("-{NINES_36}")); 200]);
        back.push(n("0.10"));
        assert_eq!(plain(&Value::sum(&back)), "0.10");
        // A product past i128: the exact path gives all its digits.
        let total = Value::line_total(&big, &big);
        assert_eq!(exact(&total), exact(&reference::line_total(&big, &big)));
        assert_eq!(
            plain(&total),
            format!("{}8{}1", "9".repeat(35), "0".repeat(35))
        );
    }

    #[test]
    fn a_gap_stops_a_fast_sum_and_a_slow_one() {
        for gap in [
            Value::Missing,
            n("NaN"),
            n("-Infinity"),
            n("N/A"),
            n("1e2000"),
        ] {
            let small = [n("1.25"), gap.clone(), n("2")];
            assert_eq!(Value::sum(&small), Value::Missing, "{gap:?}");
            let big = [n(NINES_36), n(NINES_36), n(NINES_36), gap.clone(), n("1")];
            assert_eq!(Value::sum(&big), Value::Missing, "{gap:?}");
            assert_eq!(Value::line_total(&n("2"), &gap), Value::Missing);
            assert_eq!(n("2").minus(&gap), Value::Missing);
        }
        let negative = [n("-0.01"), n("-19.99"), n("5")];
        assert_eq!(plain(&Value::sum(&negative)), "-15.00");
    }

    #[test]
    fn json_numbers_keep_their_digits() {
        let json =
            serde_json::to_string(&[n("2.5"), n("5000.00"), Value::Missing, n("1e+30")]).unwrap();
        assert_eq!(json, "[2.5,5000.00,null,1000000000000000000000000000000]");
    }
}
