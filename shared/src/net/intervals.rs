//! Sorted, disjoint, non-adjacent sets of closed intervals over `u128`.
//!
//! Used for IPv4 addresses (values below 2^32), IPv6 addresses (the full `u128`) and ports
//! (values below 2^16). Every operation is an exact linear merge; results are always normalised
//! (sorted, no overlap, no two intervals touching), so equality of sets is equality of vectors.

use smallvec::SmallVec;

/// Most sets are one prefix or one port range: that one is stored inline, without allocation.
type Ranges = SmallVec<[(u128, u128); 1]>;

/// A set of `u128` values as closed intervals `[lo, hi]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IntervalSet {
    ranges: Ranges,
}

impl IntervalSet {
    pub fn empty() -> Self {
        Self {
            ranges: SmallVec::new(),
        }
    }

    /// The single interval `[lo, hi]` (empty if `lo > hi`).
    pub fn range(lo: u128, hi: u128) -> Self {
        if lo > hi {
            Self::empty()
        } else {
            Self {
                ranges: smallvec::smallvec![(lo, hi)],
            }
        }
    }

    /// Builds a set from arbitrary (possibly overlapping, unsorted) intervals.
    pub fn from_ranges(mut ranges: Vec<(u128, u128)>) -> Self {
        ranges.retain(|(lo, hi)| lo <= hi);
        ranges.sort_unstable();
        let mut out: Ranges = SmallVec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => {
                    if hi > last.1 {
                        last.1 = hi;
                    }
                }
                _ => out.push((lo, hi)),
            }
        }
        Self { ranges: out }
    }

    /// A set from intervals that are already sorted, disjoint and non-adjacent.
    pub(crate) fn from_normalized(ranges: Ranges) -> Self {
        debug_assert!(ranges
            .windows(2)
            .all(|w| w[0].1 < w[1].0 && w[0].1 + 1 < w[1].0));
        debug_assert!(ranges.iter().all(|(lo, hi)| lo <= hi));
        Self { ranges }
    }

    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn contains(&self, v: u128) -> bool {
        // binary search for the last interval with lo <= v
        let idx = self.ranges.partition_point(|&(lo, _)| lo <= v);
        idx > 0 && self.ranges[idx - 1].1 >= v
    }

    /// True when every value of `[lo, hi]` is in the set.
    pub fn contains_range(&self, lo: u128, hi: u128) -> bool {
        let idx = self.ranges.partition_point(|&(l, _)| l <= lo);
        idx > 0 && self.ranges[idx - 1].1 >= hi
    }

    /// Number of values, saturating at `u128::MAX` (only the full IPv6 space saturates).
    pub fn count(&self) -> u128 {
        self.ranges.iter().fold(0u128, |acc, &(lo, hi)| {
            acc.saturating_add((hi - lo).saturating_add(1))
        })
    }

    pub fn union(&self, other: &Self) -> Self {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let mut all: Ranges = SmallVec::with_capacity(self.ranges.len() + other.ranges.len());
        // merge two sorted lists, then normalise
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() || j < other.ranges.len() {
            let take_self = j >= other.ranges.len()
                || (i < self.ranges.len() && self.ranges[i] <= other.ranges[j]);
            let r = if take_self {
                i += 1;
                self.ranges[i - 1]
            } else {
                j += 1;
                other.ranges[j - 1]
            };
            match all.last_mut() {
                Some(last) if r.0 <= last.1.saturating_add(1) => {
                    if r.1 > last.1 {
                        last.1 = r.1;
                    }
                }
                _ => all.push(r),
            }
        }
        Self { ranges: all }
    }

    pub fn intersection(&self, other: &Self) -> Self {
        let mut out = Ranges::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a_lo, a_hi) = self.ranges[i];
            let (b_lo, b_hi) = other.ranges[j];
            let lo = a_lo.max(b_lo);
            let hi = a_hi.min(b_hi);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a_hi < b_hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        Self { ranges: out }
    }

    pub fn intersects(&self, other: &Self) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a_lo, a_hi) = self.ranges[i];
            let (b_lo, b_hi) = other.ranges[j];
            if a_lo.max(b_lo) <= a_hi.min(b_hi) {
                return true;
            }
            if a_hi < b_hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }

    /// `self \ other`.
    pub fn difference(&self, other: &Self) -> Self {
        if other.is_empty() || self.is_empty() {
            return self.clone();
        }
        let mut out: Ranges = SmallVec::with_capacity(self.ranges.len());
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            let mut cur = lo;
            let mut alive = true;
            // skip subtrahend intervals entirely below this one
            while j < other.ranges.len() && other.ranges[j].1 < lo {
                j += 1;
            }
            let mut k = j;
            while k < other.ranges.len() && other.ranges[k].0 <= hi {
                let (b_lo, b_hi) = other.ranges[k];
                if b_lo > cur {
                    out.push((cur, b_lo - 1));
                }
                if b_hi >= hi {
                    alive = false;
                    break;
                }
                cur = cur.max(b_hi + 1);
                k += 1;
            }
            if alive {
                out.push((cur, hi));
            }
        }
        Self { ranges: out }
    }

    /// True when `self ⊆ other`.
    pub fn is_subset(&self, other: &Self) -> bool {
        self.ranges
            .iter()
            .all(|&(lo, hi)| other.contains_range(lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::IntervalSet as S;

    #[test]
    fn normalises_overlaps_and_adjacency() {
        let s = S::from_ranges(vec![(5, 9), (1, 3), (4, 4), (20, 30), (25, 26)]);
        assert_eq!(s.ranges(), &[(1, 9), (20, 30)]);
        assert_eq!(s.count(), 9 + 11);
    }

    #[test]
    fn set_operations() {
        let a = S::from_ranges(vec![(0, 10), (20, 30)]);
        let b = S::from_ranges(vec![(5, 25)]);
        assert_eq!(a.union(&b).ranges(), &[(0, 30)]);
        assert_eq!(a.intersection(&b).ranges(), &[(5, 10), (20, 25)]);
        assert_eq!(a.difference(&b).ranges(), &[(0, 4), (26, 30)]);
        assert_eq!(b.difference(&a).ranges(), &[(11, 19)]);
        assert!(a.intersects(&b));
        assert!(!S::range(11, 19).intersects(&a));
        assert!(S::range(21, 29).is_subset(&a));
        assert!(!S::range(9, 21).is_subset(&a));
    }

    #[test]
    fn extremes_do_not_overflow() {
        let full = S::range(0, u128::MAX);
        assert_eq!(full.count(), u128::MAX);
        let hole = full
            .difference(&S::range(0, 0))
            .difference(&S::range(u128::MAX, u128::MAX));
        assert_eq!(hole.ranges(), &[(1, u128::MAX - 1)]);
        assert_eq!(
            hole.union(&S::range(u128::MAX, u128::MAX)).ranges(),
            &[(1, u128::MAX)]
        );
        assert!(full.contains(u128::MAX));
    }
}
