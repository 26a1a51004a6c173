"""Evaluation metrics: FID (clean-fid with the registry's Inception), SSIM/PSNR
(scikit-image, optionally inside a region), FaceNet rank-1 recognition."""
