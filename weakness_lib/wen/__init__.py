"""The science of Wen, Li & Ma (2023): xor data (``xor``), two-layer ReLU architectures with closed-form
Hessian traces (``twolayer``), SAM variants (``sam``) and the paper's explicit constructions
(``constructions``)."""
