"""ONNX model files: the contract, vetting, loading, inference, calibration and the model list."""
