"""Shipping the fine-tuned model (Part 3): ONNX export and quantisation, the scoring service behind Azure's
inference server, a local endpoint, latency measurements and monitoring."""
