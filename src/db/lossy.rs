//! Text read leniently. A SQL_ASCII database stores whatever bytes it was
//! given, so a text column can hold invalid UTF-8. Sent as text to a UTF-8
//! client, such a value fails the whole query on the server ("invalid byte
//! sequence for encoding UTF8"), so one row would stop a whole list. Such
//! columns are selected through [`raw`] (their bytes, unconverted) and
//! decoded here, invalid sequences becoming U+FFFD.

use sqlx::decode::Decode;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef, Postgres};
use sqlx::{Type, ValueRef as _};

/// SQL for the bytes of text expression `expr`, as a `bytea`. Converting
/// *to* SQL_ASCII is no conversion at all, whatever the database encoding.
pub fn raw(expr: &str) -> String {
    format!("convert_to(({expr})::text, 'SQL_ASCII')")
}

/// A text value, with invalid UTF-8 replaced by U+FFFD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LossyText {
    pub text: String,
    /// Some bytes were not UTF-8 and were replaced.
    pub replaced: bool,
}

impl LossyText {
    pub fn from_bytes(bytes: &[u8]) -> LossyText {
        match String::from_utf8_lossy(bytes) {
            std::borrow::Cow::Borrowed(text) => LossyText {
                text: text.to_string(),
                replaced: false,
            },
            std::borrow::Cow::Owned(text) => LossyText {
                text,
                replaced: true,
            },
        }
    }
}

impl From<&str> for LossyText {
    fn from(text: &str) -> LossyText {
        LossyText {
            text: text.to_string(),
            replaced: false,
        }
    }
}

impl Type<Postgres> for LossyText {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty) || <Vec<u8> as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for LossyText {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        if <Vec<u8> as Type<Postgres>>::compatible(&value.type_info()) {
            let bytes = <Vec<u8> as Decode<Postgres>>::decode(value)?;
            return Ok(LossyText::from_bytes(&bytes));
        }
        // Text travels as its bytes in both the text and binary formats.
        Ok(LossyText::from_bytes(value.as_bytes()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_become_replacement_characters_and_are_flagged() {
        let bad = LossyText::from_bytes(b"caf\xff dude");
        assert_eq!(bad.text, "caf\u{fffd} dude");
        assert!(bad.replaced);
        let good = LossyText::from_bytes("café \u{fffd}".as_bytes());
        assert_eq!(good.text, "café \u{fffd}");
        assert!(!good.replaced, "a real U+FFFD is not a decoding error");
    }
}
