"""ROOT's own TH1::KolmogorovTest and TH1::Chi2Test("UU") on seeded histograms, printed as JSON.

Run with an interpreter that has ROOT (the `rootfiles` extra): ``python ks_chi2.py``. The tests compare
overwatch_core.checks with these numbers; the product never imports ROOT.
"""

from __future__ import annotations

import json

import ROOT

ROOT.gROOT.SetBatch(True)
ROOT.TH1.AddDirectory(False)
ROOT.gErrorIgnoreLevel = ROOT.kFatal

#: (bins, entries of the histogram, entries of the reference, shift of the reference's mean)
CASES = [
    (10, 100, 200, 0.0),
    (50, 1000, 800, 0.1),
    (100, 5000, 5000, 0.0),
    (200, 300, 3000, 0.5),
    (30, 50, 60, 0.0),
    (60, 20000, 10000, 0.02),
    (80, 700, 700, 1.0),
    (40, 400, 100, 0.3),
]


def main() -> None:
    rng = ROOT.TRandom3(5)
    out = []
    for index, (bins, n_a, n_b, shift) in enumerate(CASES):
        a = ROOT.TH1D(f"a{index}", "", bins, 0, 10)
        b = ROOT.TH1D(f"b{index}", "", bins, 0, 10)
        for _ in range(n_a):
            a.Fill(rng.Gaus(5, 2))
        for _ in range(n_b):
            b.Fill(rng.Gaus(5 + shift, 2))
        out.append(
            {
                "a": [a.GetBinContent(i) for i in range(1, bins + 1)],
                "b": [b.GetBinContent(i) for i in range(1, bins + 1)],
                "ks": a.KolmogorovTest(b),
                "chi2_p": a.Chi2Test(b, "UU"),
                "chi2": a.Chi2Test(b, "UU CHI2"),
                "chi2_ndf": a.Chi2Test(b, "UU CHI2/NDF"),
            }
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
