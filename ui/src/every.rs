//! The UI's polling timers: each asks the shell for something again once a
//! period has passed on the UI's clock.

/// Due once per `period` seconds of the UI's clock.
#[derive(Debug, Clone, Copy)]
pub struct Every {
    /// Seconds between two polls; may change (the device list is asked
    /// for sooner while devices lack their dimensions).
    pub period: f64,
    last: f64,
}

impl Every {
    /// First due one period after the UI started.
    pub const fn new(period: f64) -> Every {
        Every { period, last: 0.0 }
    }

    /// Due on the first frame already.
    pub const fn at_once(period: f64) -> Every {
        Every {
            period,
            last: f64::NEG_INFINITY,
        }
    }

    /// Whether the period has passed since it was last due; if so, the
    /// next period starts now.
    pub fn due(&mut self, now: f64) -> bool {
        if now - self.last > self.period {
            self.last = now;
            true
        } else {
            false
        }
    }

    /// Starts the next period now (something else did the poll's work).
    pub fn restart(&mut self, now: f64) {
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_once_a_period() {
        let mut e = Every::new(1.0);
        assert!(!e.due(0.5));
        assert!(e.due(1.1));
        assert!(!e.due(1.5));
        assert!(e.due(2.2));
        let mut first = Every::at_once(5.0);
        assert!(first.due(0.0));
        assert!(!first.due(4.0));
        first.restart(4.0);
        assert!(!first.due(8.5));
        assert!(first.due(9.1));
    }
}
