"""Bennett (2026)'s studies: reparameterisation (B1), invariance audit (B2), batch size (B5),
head-to-head (B6, B7) and their replications, the robustness population (X5), the theory of
finite languages (B3, B4) and weakness against validation accuracy (IV). :mod:`.common` (data,
fixed batches, fitting) and :mod:`.networks` (training and measuring one network, measure
families) are the recipes they share."""
