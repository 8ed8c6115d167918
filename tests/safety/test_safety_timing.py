"""Speed budgets: a prompt check in well under 5 ms, a 1024 px image check around 100 ms of CPU.

CPU time (time.process_time) is measured rather than wall time, because this machine is shared; the
bounds leave headroom for slower CPUs. `python -m unclip.safety.benchmark` prints the full numbers.
"""

from __future__ import annotations

import statistics
import time

from PIL import Image

from unclip.safety import Policy
from unclip.safety.evaluate import load_set


def cpu_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def test_prompt_check_is_fast(policy: Policy) -> None:
    prompts = [e.prompt for e in load_set("dev")][::3]
    policy.check_prompt("warm-up")
    start = time.process_time()
    for prompt in prompts:
        policy.check_prompt(prompt)
    mean_ms = (time.process_time() - start) / len(prompts) * 1000
    long_prompt = " ".join(["a watercolor painting of a lighthouse on a cliff at sunset"] * 20)  # ~1200 chars
    long_ms = cpu_ms(lambda: policy.check_prompt(long_prompt), 5)
    print(
        f"\nprompt check: mean {mean_ms:.2f} ms CPU over {len(prompts)} prompts; "
        f"1200-char prompt {long_ms:.2f} ms"
    )
    assert mean_ms < 5.0
    assert long_ms < 25.0


def test_image_check_at_1024px(policy: Policy, photos) -> None:
    image = photos["astronaut"].resize((1024, 1024), Image.BICUBIC)
    upload = cpu_ms(lambda: policy.check_image(image, kind="upload"), 5)
    output = cpu_ms(lambda: policy.check_image(image, kind="output"), 5)
    print(f"\n1024 px image check: upload (faces + nudity) {upload:.1f} ms CPU, output {output:.1f} ms CPU")
    assert upload < 200.0
    assert output < 200.0
