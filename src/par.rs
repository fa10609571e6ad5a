//! Work spread over every core that no crate does for us.

use rayon::prelude::*;

/// The runs one after another in one list, each moved on its own core: a
/// 100,000-entry list copied on one core leaves the others idle for its
/// length.
pub fn concat<T: Send>(runs: Vec<Vec<T>>) -> Vec<T> {
    let total = runs.iter().map(Vec::len).sum();
    let mut all = Vec::with_capacity(total);
    let mut rest = &mut all.spare_capacity_mut()[..total];
    let mut slots = Vec::with_capacity(runs.len());
    for run in &runs {
        let (slot, tail) = std::mem::take(&mut rest).split_at_mut(run.len());
        slots.push(slot);
        rest = tail;
    }
    runs.into_par_iter().zip(slots).for_each(|(run, slot)| {
        for (place, item) in slot.iter_mut().zip(run) {
            place.write(item);
        }
    });
    // SAFETY: the slots tile the first `total` places of `all`, and each
    // place was written above (each run exactly fills its slot).
    unsafe { all.set_len(total) };
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of any lengths, empty ones included, are moved whole and in order.
    #[test]
    fn concat_keeps_every_item_in_order() {
        let runs: Vec<Vec<String>> = [0, 3, 0, 1, 7, 2]
            .iter()
            .enumerate()
            .map(|(run, &len)| (0..len).map(|i| format!("{run}.{i}")).collect())
            .collect();
        let expected: Vec<String> = runs.concat();
        assert_eq!(concat(runs), expected);
        assert!(concat(Vec::<Vec<String>>::new()).is_empty());
    }
}
