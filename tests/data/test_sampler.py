"""Global batches are the same however they are split over processes and accumulation steps."""

from unclip.data.sampler import BatchPlan


def take(plan: BatchPlan, steps: int, start: int = 0) -> list[list[tuple[int, int]]]:
    it = plan.micro_batches(start)
    return [[pair for _ in range(plan.accumulation) for pair in next(it)] for _ in range(steps)]


def test_split_over_processes_and_accumulation_gives_the_same_global_batches():
    one = take(BatchPlan(10, seed=3, global_batch=8, micro_batch=8), 5)
    for world, micro in ((2, 4), (4, 2), (2, 2), (1, 2)):
        per_rank = [take(BatchPlan(10, 3, 8, micro, world, r), 5) for r in range(world)]
        for step in range(5):
            merged = sorted(p for rank in per_rank for p in rank[step])
            assert merged == sorted(one[step]), (world, micro)


def test_epochs_cover_every_record_and_resume_continues_the_stream():
    plan = BatchPlan(10, seed=0, global_batch=5, micro_batch=5)
    steps = take(plan, 4)
    assert sorted(i for s in steps[:2] for i, _ in s) == list(range(10))
    assert sorted(i for s in steps[2:] for i, _ in s) == list(range(10))
    assert [i for s in steps[:2] for i, _ in s] != [i for s in steps[2:] for i, _ in s]  # reshuffled
    assert take(plan, 2, start=2) == steps[2:]
    assert [n for s in steps for _, n in s] == list(range(20))  # sample numbers are stream positions
