"""Fréchet distance and Inception Score on a classifier's features and predictions.

The formulas are the standard ones (Heusel et al. 2017; Salimans et al.
2016); which network gives the features and predictions is the caller's:
Kim et al. 2020 (Sec. 3.1) use their own pitch and family classifiers on
audio; Duan et al. 2020 (Sec. IV-A) cite the standard FID [50] and IS [51],
i.e. Inception-v3 (`tfxmodal.models.inception`), and tfxmodal also reports
both on CAR-GAN's classifier C (`fid_c`, `is_c`). NumPy, float64.
"""

import numpy as np


def gaussian_statistics(features):
    """Mean `(dim,)` and covariance `(dim, dim)` of `features` `(n, dim)`, n ≥ 2."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"gaussian_statistics: need features of shape (n >= 2, dim), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(features_a, features_b):
    """FID: `‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½)` between two feature sets.

    The trace of the matrix square root is computed as the sum of the square
    roots of the eigenvalues of the symmetric `Σa^½ Σb Σa^½` (same spectrum
    as `Σa Σb`), which stays real and stable for singular covariances (fewer
    samples than dimensions).

    Args:
        features_a, features_b: `(n, dim)` and `(m, dim)` arrays.

    Returns:
        float ≥ 0 (0 for identical sets).
    """
    mean_a, cov_a = gaussian_statistics(features_a)
    mean_b, cov_b = gaussian_statistics(features_b)
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    sqrt_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)))
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))


def inception_score(probabilities, splits=1):
    """IS = exp(E_x KL(p(y|x) ‖ p(y))) from class probabilities `(n, classes)`.

    Between 1 (every prediction the same, or uniform) and the number of
    classes (confident predictions spread evenly over the classes). With
    `splits > 1`, the score of each of `splits` equal chunks; returns
    `(mean, std)` over them, as Salimans et al. report it.
    """
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or len(probabilities) < splits:
        raise ValueError(f"inception_score: need (n >= splits, classes) probabilities, got {probabilities.shape}")
    if np.any(probabilities < 0) or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("inception_score: rows must be probability distributions (non-negative, summing to 1)")
    eps = 1e-12
    scores = []
    for chunk in np.array_split(probabilities, splits):
        marginal = chunk.mean(axis=0, keepdims=True)
        kl = np.sum(chunk * (np.log(chunk + eps) - np.log(marginal + eps)), axis=1)
        scores.append(float(np.exp(kl.mean())))
    if splits == 1:
        return scores[0]
    return float(np.mean(scores)), float(np.std(scores))
