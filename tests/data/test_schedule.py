"""The vectorised schedule against a straightforward slot-by-slot simulation."""
import numpy as np
import pytest

from gru4rec_fast.data.schedule import assign_slots, build_schedule


def simulate(offsets, batch_size, order, min_slots):
    """Reference-style iteration written the plain way: a list of rows, each holding
    (slot, session, position); settle rounds, drop, check, step."""
    lengths = {j: offsets[j + 1] - offsets[j] for j in range(len(offsets) - 1)}
    queue = list(order)
    nxt = 0
    rows = []                                   # [slot, session, pos, fresh]
    for s in range(min(batch_size, len(queue))):
        rows.append([s, queue[nxt], 0, True])
        nxt += 1
    steps = []
    prev_slots = None
    while True:
        while True:                              # settle rounds
            finished = [r for r in rows if r[2] + 1 >= lengths[r[1]]]
            if not finished:
                break
            for r in finished:                   # rows are in slot order
                if nxt < len(queue):
                    r[1], r[2], r[3] = queue[nxt], 0, True
                    nxt += 1
                else:
                    r[1] = None
            rows = [r for r in rows if r[1] is not None]
        if len(rows) < min_slots or not rows:
            break
        step = []
        for r in rows:
            slot, j, pos, fresh = r
            prev = -1 if prev_slots is None else prev_slots.index(slot)
            e = offsets[j] + pos
            step.append((e, j, fresh, prev))
            r[2] += 1
            r[3] = False
        prev_slots = [r[0] for r in rows]
        steps.append(step)
    return steps


def flatten(sched):
    out = []
    for t in range(sched.n_steps):
        a, b = sched.step_offsets[t], sched.step_offsets[t + 1]
        out.append([(int(sched.event[i]), int(sched.session[i]), bool(sched.reset[i]),
                     int(sched.prev_row[i])) for i in range(a, b)])
    return out


def random_offsets(rng, n_sessions, p_one=0.2, max_len=9):
    lengths = rng.integers(2, max_len + 1, size=n_sessions)
    lengths[rng.random(n_sessions) < p_one] = 1
    return np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)


@pytest.mark.parametrize("method", ["python", "numpy"])
def test_schedule_matches_simulation_random(method):
    rng = np.random.default_rng(1)
    for trial in range(120):
        n = int(rng.integers(1, 40))
        offsets = random_offsets(rng, n, p_one=rng.choice([0.0, 0.2, 0.6]))
        batch = int(rng.choice([1, 2, 3, 5, 8, 50]))
        min_slots = int(rng.choice([1, 2, 3]))
        order = rng.permutation(n) if trial % 3 == 0 else np.arange(n)
        sched = build_schedule(offsets, batch, order=order, min_slots=min_slots,
                               method=method)
        expect = simulate(offsets.tolist(), batch, order.tolist(), min_slots)
        assert flatten(sched) == expect, (trial, n, batch, min_slots)
        assert sched.n_steps == len(expect)
        assert list(sched.n_live) == [len(s) for s in expect]


def test_items_and_layout():
    rng = np.random.default_rng(2)
    offsets = random_offsets(rng, 30)
    items = rng.integers(0, 1000, size=offsets[-1]).astype(np.int32)
    sched = build_schedule(offsets, 4, items=items, min_slots=1)
    assert sched.in_items.dtype == np.int32
    np.testing.assert_array_equal(sched.in_items, items[sched.event])
    np.testing.assert_array_equal(sched.out_items, items[sched.event + 1])
    assert sched.step_offsets[0] == 0 and sched.step_offsets[-1] == len(sched.event)
    assert (np.diff(sched.n_live) <= 0).all()
    # every (input, target) pair of every session with 2+ events appears exactly once
    lengths = np.diff(offsets)
    assert sched.n_entries == int((lengths - 1).sum())
    assert len(np.unique(sched.event)) == sched.n_entries
    # step 0: all rows reset, prev_row -1; shrink steps carry a real mapping
    ins, outs, reset, keep = sched.step(0)
    assert reset.all() and (sched.prev_row[:sched.n_live[0]] == -1).all()
    for t in range(1, sched.n_steps):
        _, _, _, keep = sched.step(t)
        if sched.shrink[t]:
            assert keep is not None and (np.diff(keep) > 0).all()
        else:
            assert keep is None
            a, b = sched.step_offsets[t], sched.step_offsets[t + 1]
            np.testing.assert_array_equal(sched.prev_row[a:b], np.arange(b - a))


def test_batch_larger_than_session_count():
    offsets = np.array([0, 3, 5, 9], dtype=np.int64)
    sched = build_schedule(offsets, 10, min_slots=1)
    assert list(sched.n_live) == [3, 2, 1]          # lengths 3,2,4 -> 2,1,3 steps
    assert sched.n_steps == 3
    assert simulate(offsets.tolist(), 10, [0, 1, 2], 1) == flatten(sched)


def test_min_slots_two_ends_early():
    offsets = np.array([0, 2, 12], dtype=np.int64)  # lengths 2 and 10
    s1 = build_schedule(offsets, 2, min_slots=1)
    s2 = build_schedule(offsets, 2, min_slots=2)
    assert s1.n_steps == 9 and s2.n_steps == 1
    assert list(s1.n_live) == [2] + [1] * 8


def test_only_length_one_sessions_and_empty():
    offsets = np.arange(6, dtype=np.int64)          # five sessions of length 1
    sched = build_schedule(offsets, 3, min_slots=1)
    assert sched.n_steps == 0 and sched.n_entries == 0
    sched = build_schedule(np.zeros(1, dtype=np.int64), 3)
    assert sched.n_steps == 0


def test_length_one_sessions_change_slot_assignment():
    # lengths: 3, 3, 1, 2, 2 with batch 2: slots 0,1 free at step 2 together; slot 0
    # takes the length-1 session, slot 1 the next one (index 3), then slot 0 index 4.
    offsets = np.concatenate(([0], np.cumsum([3, 3, 1, 2, 2]))).astype(np.int64)
    start, slot, death = assign_slots(np.diff(offsets), 2)
    assert list(slot) == [0, 1, 0, 1, 0]
    assert list(start) == [0, 0, 2, 2, 2]
    assert flatten(build_schedule(offsets, 2)) == simulate(offsets.tolist(), 2,
                                                           list(range(5)), 1)


def test_methods_agree_large():
    rng = np.random.default_rng(3)
    offsets = random_offsets(rng, 20000, max_len=30)
    for b in (7, 128):
        a = build_schedule(offsets, b, method="python", min_slots=2)
        c = build_schedule(offsets, b, method="numpy", min_slots=2)
        for name in ("step_offsets", "event", "reset", "prev_row", "session"):
            np.testing.assert_array_equal(getattr(a, name), getattr(c, name))


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        build_schedule(np.array([0, 2]), 0)
    with pytest.raises(ValueError, match="min_slots"):
        build_schedule(np.array([0, 2]), 2, min_slots=0)
