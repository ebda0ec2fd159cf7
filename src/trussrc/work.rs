//! Steps of the reader and the splice (a line read, a name or key looked up, a section compared),
//! counted in tests only, so that a test can hold them to a budget proportional to the input.

#[cfg(test)]
pub use left::budget;

/// One step of work; nothing outside tests.
#[inline]
pub fn step() {
    #[cfg(test)]
    left::step();
}

#[cfg(test)]
mod left {
    use std::cell::Cell;

    thread_local! {
        static LEFT: Cell<Option<u64>> = const { Cell::new(None) };
    }

    /// Allows `steps` more steps on this thread; one more panics (`None`: no limit).
    pub fn budget(steps: Option<u64>) {
        LEFT.with(|left| left.set(steps));
    }

    pub fn step() {
        LEFT.with(|left| {
            if let Some(n) = left.get() {
                assert!(
                    n > 0,
                    "the trussrc work budget is spent: a super-linear path"
                );
                left.set(Some(n - 1));
            }
        });
    }
}
