"""The product's fused path never imports the test oracle (gru4rec_fast.ops.reference):
training, evaluation, serving, prediction and persistence run on the fused ops alone.
Only backend="reference", which is the oracle by design, loads it (issue 11)."""
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import sys, tempfile, os
    import torch
    torch.set_num_threads(1)
    from gru4rec_fast import GRU4Rec, evaluate
    from gru4rec_fast.data import synthetic
    train, test = synthetic.preset("tiny", seed=0)
    m = GRU4Rec(layers=[8], n_sample=16, n_epochs=1, batch_size=16, backend=BACKEND)
    m.fit(train, verbose=False, sample_store_size=16 * 50, max_steps=20)
    evaluate(m, test, cutoffs=(5,))
    m.recommend([1], [train["ItemId"].iloc[0]], k=3)
    m.predict_next(test.head(40), k=3)
    with tempfile.TemporaryDirectory() as d:
        m.save(os.path.join(d, "m.pt"))
        GRU4Rec.load(os.path.join(d, "m.pt"))
    print("ORACLE" if "gru4rec_fast.ops.reference" in sys.modules else "CLEAN")
""")


@pytest.mark.slow
@pytest.mark.parametrize("backend, expected", [("fused", "CLEAN"), ("reference", "ORACLE")])
def test_fused_path_does_not_import_the_oracle(backend, expected):
    # a fresh interpreter: pytest itself has imported the oracle for other tests
    r = subprocess.run([sys.executable, "-c", SCRIPT.replace("BACKEND", repr(backend))],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == expected, r.stdout
