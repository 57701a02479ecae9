//! The answers of the check and grant scripts (`lua/check.lua`, `lua/grant.lua`): decimal
//! fields in one bulk string. One bulk reply costs the reply parser of the `redis` crate one
//! value instead of an array and one value per field (about 4,500 instructions per grant in
//! the broker), and the script one `string.format` instead of a table.

use redis::{FromRedisValue, ParsingError, Value};

/// What `lua/grant.lua` answers: `"verdict remaining retry_after_us until_full_us counter"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GrantReply {
    pub verdict: u8,
    pub remaining: u32,
    pub retry_us: u64,
    pub full_us: u64,
    pub counter: usize,
}

/// What `lua/check.lua` answers: `"admitted remaining retry_after_us until_full_us
/// principal_nb all_nb"`, each "not before" a Unix time or `-` (none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CheckReply {
    pub admitted: u8,
    pub remaining: u32,
    pub retry_us: u64,
    pub full_us: u64,
    pub principal: Option<i64>,
    pub all: Option<i64>,
}

/// The space-separated fields of a reply, read one by one.
struct Fields<'a>(std::slice::Split<'a, u8, fn(&u8) -> bool>);

impl<'a> Fields<'a> {
    fn of(text: &'a [u8]) -> Self {
        Self(text.split(|&b| b == b' '))
    }

    /// The next field as a number of type `T`: one or more ASCII digits, in range.
    fn number<T: TryFrom<u64>>(&mut self) -> Option<T> {
        T::try_from(decimal(self.0.next()?)?).ok()
    }

    /// The next field as a time: `-` for none, else a signed decimal.
    fn time(&mut self) -> Option<Option<i64>> {
        match self.0.next()? {
            b"-" => Some(None),
            field => std::str::from_utf8(field).ok()?.parse().ok().map(Some),
        }
    }

    /// `reply` if no field is left.
    fn end<T>(mut self, reply: T) -> Option<T> {
        self.0.next().is_none().then_some(reply)
    }
}

/// `digits` as a number: one or more ASCII digits, within `u64`.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &digit| {
        let digit = u64::from(digit.checked_sub(b'0').filter(|d| *d <= 9)?);
        n.checked_mul(10)?.checked_add(digit)
    })
}

impl GrantReply {
    fn parse(text: &[u8]) -> Option<Self> {
        let mut fields = Fields::of(text);
        let reply = Self {
            verdict: fields.number()?,
            remaining: fields.number()?,
            retry_us: fields.number()?,
            full_us: fields.number()?,
            counter: fields.number()?,
        };
        fields.end(reply)
    }
}

impl CheckReply {
    fn parse(text: &[u8]) -> Option<Self> {
        let mut fields = Fields::of(text);
        let reply = Self {
            admitted: fields.number()?,
            remaining: fields.number()?,
            retry_us: fields.number()?,
            full_us: fields.number()?,
            principal: fields.time()?,
            all: fields.time()?,
        };
        fields.end(reply)
    }
}

/// `parse` of a bulk string; an error naming `script` for any other reply.
fn from_bulk<T>(v: &Value, script: &str, parse: fn(&[u8]) -> Option<T>) -> Result<T, ParsingError> {
    match v {
        Value::BulkString(text) => parse(text),
        _ => None,
    }
    .ok_or_else(|| format!("not an answer of {script}: {v:?}").into())
}

impl FromRedisValue for GrantReply {
    fn from_redis_value(v: Value) -> Result<Self, ParsingError> {
        Self::from_redis_value_ref(&v)
    }

    fn from_redis_value_ref(v: &Value) -> Result<Self, ParsingError> {
        from_bulk(v, "grant.lua", Self::parse)
    }
}

impl FromRedisValue for CheckReply {
    fn from_redis_value(v: Value) -> Result<Self, ParsingError> {
        Self::from_redis_value_ref(&v)
    }

    fn from_redis_value_ref(v: &Value) -> Result<Self, ParsingError> {
        from_bulk(v, "check.lua", Self::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant_reply(value: Value) -> Result<GrantReply, ParsingError> {
        GrantReply::from_redis_value(value)
    }

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn the_grant_reply_is_five_integers_in_one_string() {
        assert_eq!(
            grant_reply(bulk("0 999 0 18446744073709551615 0")).unwrap(),
            GrantReply {
                verdict: 0,
                remaining: 999,
                retry_us: 0,
                full_us: u64::MAX,
                counter: 0,
            }
        );
        assert_eq!(
            grant_reply(bulk("4 0 0 0 2")).unwrap(),
            GrantReply {
                verdict: 4,
                remaining: 0,
                retry_us: 0,
                full_us: 0,
                counter: 2,
            }
        );
    }

    fn check_reply(text: &str) -> Result<CheckReply, ParsingError> {
        CheckReply::from_redis_value(bulk(text))
    }

    #[test]
    fn the_check_reply_has_two_times_or_dashes() {
        assert_eq!(
            check_reply("1 4 0 250000 1765100000 -").unwrap(),
            CheckReply {
                admitted: 1,
                remaining: 4,
                retry_us: 0,
                full_us: 250_000,
                principal: Some(1_765_100_000),
                all: None,
            }
        );
        assert_eq!(
            check_reply("0 0 12 34 - -3").unwrap(),
            CheckReply {
                admitted: 0,
                remaining: 0,
                retry_us: 12,
                full_us: 34,
                principal: None,
                all: Some(-3),
            }
        );
        for text in [
            "1 4 0 250000 -",
            "1 4 0 250000 - - -",
            "1 4 0 250000 x -",
            "1 4 0 250000  -",
        ] {
            assert!(check_reply(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_grant_reply_of_another_shape_is_an_error() {
        for text in [
            "",
            "0 1 2 3",
            "0 1 2 3 4 5",
            "0  1 2 3 4",
            "0 1 2 3 4 ",
            "0 -1 2 3 4",
            "0 +1 2 3 4",
            "0 1.5 2 3 4",
            "256 1 2 3 4",
            "0 4294967296 2 3 4",
            "0 1 2 18446744073709551616 4",
        ] {
            assert!(grant_reply(bulk(text)).is_err(), "{text:?}");
        }
        // The array of integers that earlier scripts answered.
        let array = Value::Array((0..5).map(Value::Int).collect());
        assert!(grant_reply(array).is_err());
        assert!(grant_reply(Value::Nil).is_err());
    }
}
