//! RFC 3339 UTC timestamps with microseconds, written into a stack buffer.
//!
//! Every audit line carries one; formatting it through `fmt` cost as much
//! as the rest of the line.

use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ`
pub(crate) const LEN: usize = 27;

/// `ts` as `2026-11-23T13:21:13.123456Z`. Times before 1970 (a clock set
/// wildly wrong) are written as the epoch; years past 9999 as 9999.
pub(crate) fn rfc3339_micros(ts: SystemTime, out: &mut [u8; LEN]) -> &str {
    let since = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs().min(253_402_300_799); // 9999-12-31T23:59:59
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
    let micros = u64::from(since.subsec_micros());
    two_digits(&mut out[20..22], micros / 10_000);
    two_digits(&mut out[22..24], micros / 100 % 100);
    two_digits(&mut out[24..26], micros % 100);
    out[26] = b'Z';
    // Only ASCII was written.
    std::str::from_utf8(out).unwrap_or_default()
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
}
