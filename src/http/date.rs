//! The `Date` header value: an IMF-fixdate (RFC 9110 §5.6.7) formatted by hand and cached.
//!
//! The reactor owns one [`HttpDate`] and calls [`HttpDate::refresh`] with the wall clock once
//! per loop turn; the text is rebuilt at most once per second. Connections only read it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
const LEN: usize = 29;
/// 9999-12-31T23:59:59Z, the last instant a four-digit year can show.
const MAX_SECS: u64 = 253_402_300_799;
const SECS_PER_DAY: u64 = 86_400;
const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A cached IMF-fixdate for the `Date` response header.
#[derive(Clone, Debug)]
pub struct HttpDate {
    secs: u64,
    text: [u8; LEN],
}

impl HttpDate {
    /// The date of `now`, formatted.
    pub fn new(now: SystemTime) -> Self {
        let secs = unix_secs(now);
        HttpDate {
            secs,
            text: format(secs),
        }
    }

    /// Moves the cached date to `now`; reformats only when the second changed.
    ///
    /// Returns whether the text changed.
    pub fn refresh(&mut self, now: SystemTime) -> bool {
        let secs = unix_secs(now);
        if secs == self.secs {
            return false;
        }
        self.secs = secs;
        self.text = format(secs);
        true
    }

    /// The 29 bytes of the date, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }
}

impl Default for HttpDate {
    /// The date of `SystemTime::now()`.
    fn default() -> Self {
        HttpDate::new(SystemTime::now())
    }
}

fn unix_secs(now: SystemTime) -> u64 {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    secs.min(MAX_SECS)
}

/// Formats seconds since the Unix epoch (at most [`MAX_SECS`]) as an IMF-fixdate.
fn format(secs: u64) -> [u8; LEN] {
    let days = secs / SECS_PER_DAY;
    let in_day = secs % SECS_PER_DAY;
    let (year, month, day) = civil_date(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    put(
        &mut out,
        0,
        WEEKDAYS.get((days % 7) as usize).copied().unwrap_or(b"Thu"),
    );
    put_two(&mut out, 5, day);
    put(
        &mut out,
        8,
        MONTHS
            .get(month.wrapping_sub(1) as usize)
            .copied()
            .unwrap_or(b"Jan"),
    );
    put_two(&mut out, 12, year / 100);
    put_two(&mut out, 14, year % 100);
    put_two(&mut out, 17, in_day / 3600);
    put_two(&mut out, 20, in_day / 60 % 60);
    put_two(&mut out, 23, in_day % 60);
    out
}

/// Proleptic Gregorian (year, month 1-12, day 1-31) of a day count since 1970-01-01.
///
/// Counts in 400-year eras that start on March 1st, so the leap day ends a year.
fn civil_date(days: u64) -> (u64, u64, u64) {
    const DAYS_PER_ERA: u64 = 146_097;
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted / DAYS_PER_ERA;
    let day_of_era = shifted % DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

fn put(out: &mut [u8; LEN], at: usize, text: &[u8; 3]) {
    if let Some(dst) = out.get_mut(at..at + 3) {
        dst.copy_from_slice(text);
    }
}

fn put_two(out: &mut [u8; LEN], at: usize, value: u64) {
    if let Some(dst) = out.get_mut(at..at + 2) {
        dst[0] = b'0' + (value / 10 % 10) as u8;
        dst[1] = b'0' + (value % 10) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> String {
        let date = HttpDate::new(UNIX_EPOCH + Duration::from_secs(secs));
        String::from_utf8(date.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn known_dates() {
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT");
        assert_eq!(at(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
        assert_eq!(at(u64::MAX / 2), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn every_day_for_a_millennium_is_consistent() {
        let mut previous = (1969, 12, 31);
        for days in 0..366_000 {
            let next = civil_date(days);
            let (y, m, d) = previous;
            let expected_next_day = next == (y, m, d + 1);
            let expected_next_month = next == (y, m + 1, 1) && (28..=31).contains(&d);
            let expected_next_year = next == (y + 1, 1, 1) && (m, d) == (12, 31);
            assert!(
                expected_next_day || expected_next_month || expected_next_year,
                "{next:?}"
            );
            previous = next;
        }
    }

    #[test]
    fn refresh_only_on_new_second() {
        let t = UNIX_EPOCH + Duration::from_secs(10);
        let mut date = HttpDate::new(t);
        assert!(!date.refresh(t + Duration::from_millis(999)));
        assert!(date.refresh(t + Duration::from_secs(1)));
        assert_eq!(&date.as_bytes()[17..25], b"00:00:11");
    }
}
