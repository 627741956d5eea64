"""The science of Bennett (2026): offline MNIST/Fashion-MNIST (``data``), ReLU MLPs (``models``),
deterministic training (``train``), Hessian curvature (``curvature``), function-preserving rescalings
(``reparam``), weakness estimators (``weakness``), the sharpness/simplicity family (``measures``),
statistics (``stats``) and finite-language theory (``theory``)."""
