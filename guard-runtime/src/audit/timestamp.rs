//! RFC 3339 UTC timestamps with microseconds, written into a stack buffer.
//!
//! Every audit line carries one; formatting it through `fmt` cost as much
//! as the rest of the line.

use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ`
pub(crate) const LEN: usize = 27;

/// Where the microseconds start: the date and time before it change only
/// once a second.
const MICROS_AT: usize = 20;

/// 9999-12-31T23:59:59, the last second written.
const MAX_SECS: u64 = 253_402_300_799;

/// `ts` as `2026-11-23T13:21:13.123456Z`. Times before 1970 (a clock set
/// wildly wrong) are written as the epoch; years past 9999 as 9999.
pub(crate) fn rfc3339_micros(ts: SystemTime, out: &mut [u8; LEN]) -> &str {
    let (secs, micros) = split(ts);
    date_time(secs, out);
    micros_z(micros, out);
    // Only ASCII was written.
    std::str::from_utf8(out).unwrap_or_default()
}

/// Formats timestamps as [`rfc3339_micros`] does, keeping the date and time
/// of the last second: records arrive in near time order, so most of them
/// rewrite only the microseconds.
#[derive(Debug)]
pub(crate) struct Stamps {
    /// The second `text` holds; `u64::MAX` (past `MAX_SECS`) for none yet.
    secs: u64,
    text: [u8; LEN],
}

impl Stamps {
    pub(crate) fn new() -> Self {
        Stamps { secs: u64::MAX, text: [0; LEN] }
    }

    /// `ts`, formatted.
    pub(crate) fn format(&mut self, ts: SystemTime) -> &[u8; LEN] {
        let (secs, micros) = split(ts);
        if secs != self.secs {
            date_time(secs, &mut self.text);
            self.secs = secs;
        }
        micros_z(micros, &mut self.text);
        &self.text
    }
}

/// Whole seconds since the epoch (clamped to the written range) and the
/// microseconds within the second.
fn split(ts: SystemTime) -> (u64, u32) {
    let since = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_secs().min(MAX_SECS), since.subsec_micros())
}

/// `YYYY-MM-DDTHH:MM:SS.` for `secs` since the epoch.
fn date_time(secs: u64, out: &mut [u8; LEN]) {
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let year = year as u64;
    two_digits(&mut out[0..2], year / 100);
    two_digits(&mut out[2..4], year % 100);
    out[4] = b'-';
    two_digits(&mut out[5..7], u64::from(month));
    out[7] = b'-';
    two_digits(&mut out[8..10], u64::from(day));
    out[10] = b'T';
    two_digits(&mut out[11..13], rem / 3600);
    out[13] = b':';
    two_digits(&mut out[14..16], rem / 60 % 60);
    out[16] = b':';
    two_digits(&mut out[17..19], rem % 60);
    out[19] = b'.';
}

/// `uuuuuuZ` (`micros` below a million).
fn micros_z(micros: u32, out: &mut [u8; LEN]) {
    let micros = u64::from(micros);
    two_digits(&mut out[MICROS_AT..MICROS_AT + 2], micros / 10_000);
    two_digits(&mut out[MICROS_AT + 2..MICROS_AT + 4], micros / 100 % 100);
    two_digits(&mut out[MICROS_AT + 4..MICROS_AT + 6], micros % 100);
    out[LEN - 1] = b'Z';
}

/// `n` (below 100) as two digits.
fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar: Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::Stamps;

    fn format(ts: SystemTime) -> String {
        super::rfc3339_micros(ts, &mut [0; super::LEN]).to_owned()
    }

    #[test]
    fn known_instants() {
        assert_eq!(format(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let leap_day = UNIX_EPOCH + Duration::new(951_782_400, 123_456_789); // 2000-02-29
        assert_eq!(format(leap_day), "2000-02-29T00:00:00.123456Z");
        let end_of_year = UNIX_EPOCH + Duration::new(1_798_761_599, 999_999_000); // 2026-12-31T23:59:59
        assert_eq!(format(end_of_year), "2026-12-31T23:59:59.999999Z");
    }

    #[test]
    fn before_the_epoch_reads_as_the_epoch() {
        assert_eq!(format(UNIX_EPOCH - Duration::from_secs(1)), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn every_day_for_three_centuries_parses_back() {
        // Each day from 1970 to 2270 at a moving time of day: parsing the
        // text back must give the same instant (to the microsecond).
        for day in 0..(300 * 366) {
            let secs = day * 86_400 + (day * 7_919) % 86_400;
            let ts = UNIX_EPOCH + Duration::new(secs, ((day * 104_729) % 1_000_000) as u32 * 1_000);
            let text = format(ts);
            let parsed = humantime::parse_rfc3339(&text).expect("parses");
            assert_eq!(parsed, ts, "{text}");
        }
    }

    #[test]
    fn the_kept_second_is_rewritten_when_the_second_changes() {
        // Forwards and backwards across seconds, a day, a year, the epoch
        // clamp and the 9999 clamp: each must read as if formatted alone.
        let at = |secs: u64, micros: u32| UNIX_EPOCH + Duration::new(secs, micros * 1_000);
        let new_year = 1_798_761_600; // 2027-01-01T00:00:00
        let times = [
            at(new_year - 2, 999_999),
            at(new_year - 1, 0),
            at(new_year - 1, 999_999),
            at(new_year, 0),
            at(new_year, 1),
            at(new_year - 1, 500_000), // a record from the second before
            at(new_year, 7),
            at(new_year + 86_400, 7), // a day later, same time and micros
            at(new_year + 86_400, 7),
            UNIX_EPOCH - Duration::from_secs(5),
            UNIX_EPOCH,
            at(1, 0),
            at(253_402_300_799, 3),
            at(253_402_300_800, 4), // clamped to the same second as above
            at(253_402_300_799 + 86_400 * 400, 5),
            at(new_year, 0),
        ];
        let mut stamps = Stamps::new();
        for ts in times {
            let cached = String::from_utf8_lossy(stamps.format(ts)).into_owned();
            assert_eq!(cached, format(ts), "{ts:?}");
        }
    }
}
