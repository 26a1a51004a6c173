"""The paper's published numbers (Du et al., Sci. Rep. 15:16056, 2025, Tables 3-7), as
plain data, rounded as in ../shared/docs/method.md: FID and PSNR to 2 decimals, SSIM to
4. The report puts our numbers beside these; nothing here is computed."""

from __future__ import annotations

SUBSETS: tuple[str, ...] = ("cuhk", "ar", "xm2vts")
SUBSET_NAMES: dict[str, str] = {"cuhk": "CUHK", "ar": "AR", "xm2vts": "XM2VTS", "all": "all"}

# Tables 4-6, in the paper's column order.
COMPARISON_METHODS: tuple[str, ...] = (
    "cyclegan", "pix2pix", "mdal", "facesketchwild", "fsgan", "t2v", "dif_fusion", "fss",
)

# Compared in the paper but not re-run here (no code): shown with their published values.
PUBLISHED_ONLY: frozenset[str] = frozenset({"mdal", "facesketchwild", "fsgan", "t2v", "dif_fusion"})

# Table 7's columns; "test_photos" is the paper's "Test set" (the photos as probes).
RECOGNITION_METHODS: tuple[str, ...] = (
    "test_photos", "cyclegan", "pix2pix", "mdal", "t2v", "dif_fusion", "fss",
)

NAMES: dict[str, str] = {
    "cut": "CUT", "rcs": "W/ RCS", "dss": "W/ DSS", "mask": "W/ Mask", "fss": "FSS",
    "cyclegan": "CycleGAN", "pix2pix": "pix2pix", "mdal": "MDAL",
    "facesketchwild": "FaceSketchWild", "fsgan": "FSGAN", "t2v": "T2V",
    "dif_fusion": "Dif-Fusion", "test_photos": "Test set (photos)",
}


def _fps(fid: float, psnr: float, ssim: float) -> dict[str, float]:
    return {"fid": fid, "psnr": psnr, "ssim": ssim}


def _fsp(fid: float, ssim: float, psnr: float) -> dict[str, float]:
    return {"fid": fid, "ssim": ssim, "psnr": psnr}


# Table 3 (ablation): row -> subset -> metric, rows in the paper's order; the paper prints
# FID / PSNR / SSIM. (Our rows and their chain are conf's `rows` and `ablation`.)
TABLE3: dict[str, dict[str, dict[str, float]]] = {
    "cut": {"cuhk": _fps(81.24, 16.89, 0.5436), "ar": _fps(87.69, 17.29, 0.5905),
            "xm2vts": _fps(76.04, 15.97, 0.5038)},
    "rcs": {"cuhk": _fps(77.49, 17.20, 0.5721), "ar": _fps(84.63, 17.82, 0.6030),
            "xm2vts": _fps(73.46, 16.49, 0.5339)},
    "dss": {"cuhk": _fps(71.34, 17.41, 0.5801), "ar": _fps(81.27, 17.96, 0.5991),
            "xm2vts": _fps(71.52, 16.97, 0.5381)},
    "mask": {"cuhk": _fps(62.74, 17.50, 0.5851), "ar": _fps(71.65, 17.85, 0.6034),
             "xm2vts": _fps(60.64, 17.16, 0.5589)},
    "fss": {"cuhk": _fps(53.33, 18.57, 0.6357), "ar": _fps(62.33, 18.13, 0.6342),
            "xm2vts": _fps(30.47, 18.11, 0.5766)},
}

# Tables 4 (CUHK), 5 (AR), 6 (XM2VTS): method -> subset -> metric; printed FID / SSIM / PSNR.
# FSS's AR SSIM is 0.6340 here but 0.6342 in Table 3: the paper's own two values, kept.
TABLES4_6: dict[str, dict[str, dict[str, float]]] = {
    "cyclegan": {"cuhk": _fsp(60.13, 0.5896, 17.89), "ar": _fsp(74.42, 0.6030, 18.05),
                 "xm2vts": _fsp(38.51, 0.5381, 17.37)},
    "pix2pix": {"cuhk": _fsp(74.96, 0.5396, 17.69), "ar": _fsp(103.66, 0.5722, 17.57),
                "xm2vts": _fsp(70.61, 0.5172, 17.73)},
    "mdal": {"cuhk": _fsp(66.87, 0.6352, 17.91), "ar": _fsp(81.19, 0.6267, 18.05),
             "xm2vts": _fsp(44.41, 0.5475, 16.16)},
    "facesketchwild": {"cuhk": _fsp(79.87, 0.6314, 15.58), "ar": _fsp(72.41, 0.6138, 19.47),
                       "xm2vts": _fsp(56.85, 0.4766, 15.93)},
    "fsgan": {"cuhk": _fsp(65.66, 0.6502, 18.68), "ar": _fsp(64.91, 0.6432, 18.47),
              "xm2vts": _fsp(44.49, 0.4726, 16.43)},
    "t2v": {"cuhk": _fsp(89.49, 0.6423, 17.49), "ar": _fsp(110.67, 0.5568, 18.11),
            "xm2vts": _fsp(62.87, 0.5196, 15.03)},
    "dif_fusion": {"cuhk": _fsp(72.28, 0.6021, 18.81), "ar": _fsp(82.10, 0.5412, 18.17),
                   "xm2vts": _fsp(55.03, 0.5266, 18.02)},
    "fss": {"cuhk": _fsp(53.33, 0.6357, 18.57), "ar": _fsp(62.33, 0.6340, 18.13),
            "xm2vts": _fsp(30.47, 0.5766, 18.11)},
}

# Table 7: rank-1 recognition accuracy in percent, over the whole CUFS test set.
TABLE7: dict[str, float] = {
    "test_photos": 85.20, "cyclegan": 88.86, "pix2pix": 88.82, "mdal": 90.22,
    "t2v": 68.48, "dif_fusion": 89.56, "fss": 90.54,
}

# The paper's training setup (and method.md's reading where the paper is silent): what a
# profile is compared with in the report's "Deviations" and "How far" sections.
PAPER_IMAGE_SIZE = 256
PAPER_EPOCHS = 400
PAPER_TRAIN_PAIRS = 268
