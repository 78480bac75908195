"""Part 3, second half: deploying the fine-tuned model (ONNX Runtime, a local Azure ML endpoint, monitoring).

Runs after the evaluation section; the setup cells before it defined ``fk`` and ``profile``.
"""

from notebook_source import answer, code, md, tests

CELLS = [
    md("""
    ## Deploying the model

    **Goal:** ship the classifier the way a real service would: make it fast with ONNX Runtime,
    serve it behind the same HTTP server Azure ML uses, watch what it receives, and deploy it to an
    Azure ML online endpoint.

    **Steps:** (A) export to ONNX and check nothing changed, (B) measure the speed-up, (C) serve it
    locally with Azure's inference server, (D) check for drift, (E) the Azure deployment itself.

    First, which model do we deploy?
    """),
    code("""
    from finetune_kit import benchmark, data, endpoint, export, monitoring, serve

    model_dir, origin = export.model_to_deploy(profile)
    print("Deploying", origin)
    """),
    md("""
    ### A. Export to ONNX — and prove it is the same model

    [ONNX](https://onnx.ai) stores the network as a fixed graph that **ONNX Runtime** executes
    without Python in the loop. `export_onnx` does three things:

    1. `torch.onnx.export` writes the graph (`model.onnx`, 32-bit floats);
    2. ONNX Runtime's transformer optimiser **fuses** each attention block, layer norm and GELU
       into single fast kernels;
    3. **dynamic int8 quantisation** stores the weights of the big matrix products as 8-bit
       integers (4× smaller) and multiplies with integer instructions (`model.int8.onnx`; the
       word-embedding table stays 32-bit, which keeps the answers closer to PyTorch's).
    """),
    code("""
    onnx_dir = fk.config.artifact_dir(profile) / "onnx"
    exported = export.export_onnx(model_dir, onnx_dir)
    print(exported.summary())
    """),
    md("""
    Faster is worthless if the answers change. The **parity check** runs PyTorch and both ONNX
    models on the same test reviews and counts how often they predict the same label (we require
    99.5 %). Rounding to int8 changes the scores a little; a well-trained model has clear margins,
    so its labels rarely flip. An *untrained* head (smoke profile without Part 2) sits right at
    50/50, so there even tiny rounding flips labels — a good reason never to skip this check.
    """),
    code("""
    test_texts, test_labels, test_source = export.labelled_texts(profile)
    parity = export.parity_check(model_dir, onnx_dir, test_texts, test_labels, data=test_source)
    print(parity.summary())
    """),
    md("""
    ### B. How much faster?

    A fair benchmark gives every engine **the same inputs** (real test reviews, so realistic
    lengths), **the same number of threads**, a **warm-up**, and takes turns between engines so
    that a busy moment on the machine hurts all of them alike. We report the median (p50) and the
    95th percentile (p95) latency for one review at a time, throughput for batches of 32, the file
    size and the accuracy. Under the smoke profile only a handful of requests on 16 reviews are
    timed (`settings` says how many), so the numbers are rough;
    `python -m finetune_kit bench-inference --model …` does the full run.
    """),
    code("""
    settings = benchmark.settings_for(profile.name)  # under smoke: 8 requests on 16 reviews
    bench = benchmark.bench_inference(model_dir, onnx_dir, test_texts, test_labels, data=test_source, **settings)
    print(bench.table())
    """),
    code("bench.plot()"),
    md("""
    The speed-up depends on the review's length: PyTorch pays a fixed cost per call (Python,
    dispatching dozens of small operations), which dominates short texts; long texts are dominated
    by matrix products, where int8 can be at most about 4× faster than 32-bit floats. Look at
    `speedup_by_length` in the JSON that `bench-inference` writes.

    **Your turn.** A *speed-up* says how many times faster an engine is than the baseline:
    `baseline latency / engine latency`. Write `speedups(latency_ms, baseline)` that takes a dict
    *engine name → latency in ms* and returns a dict *engine name → speed-up*, each rounded to one
    decimal with `round(x, 1)`. The baseline itself gets `1.0`.
    """),
    answer("speedups_answer", '''
    def speedups(latency_ms: dict, baseline: str = "PyTorch fp32") -> dict:
        ### BEGIN SOLUTION
        base = latency_ms[baseline]
        return {engine: round(base / ms, 1) for engine, ms in latency_ms.items()}
        ### END SOLUTION
    '''),
    code("""
    measured = {e.engine: e.p50_ms for e in bench.engines}
    print(measured)
    print(speedups(measured))
    """),
    tests("speedups_tests", 2, """
    _got = speedups({"PyTorch fp32": 12.0, "ONNX Runtime int8": 3.0})
    assert type(_got) is dict, "return a dict"
    assert set(_got) == {"PyTorch fp32", "ONNX Runtime int8"}, "one entry per engine"
    assert all(type(v) is float for v in _got.values()), "each speed-up is a float, such as 2.5"
    assert _got["PyTorch fp32"] == 1.0, "the baseline is exactly as fast as itself: 1.0"
    ### BEGIN HIDDEN TESTS
    _t = speedups({"PyTorch fp32": 11.0, "ONNX Runtime fp32": 4.4, "ONNX Runtime int8": 1.7})
    assert type(_t) is dict and all(type(k) is str and type(v) is float for k, v in _t.items())
    assert _t == {"PyTorch fp32": 1.0, "ONNX Runtime fp32": 2.5, "ONNX Runtime int8": 6.5}
    assert speedups({"slow": 9.0, "fast": 3.0, "same": 9.0}, baseline="slow") == {"slow": 1.0, "fast": 3.0,
                                                                                   "same": 1.0}
    assert speedups({"a": 2.0, "b": 8.0}, "b") == {"a": 4.0, "b": 1.0}
    _mine = speedups(measured)
    assert all(type(v) is float for v in _mine.values())
    assert _mine == {e.engine: round(bench.engines[0].p50_ms / e.p50_ms, 1) for e in bench.engines}
    ### END HIDDEN TESTS
    """),
    md("""
    ### C. Serve it — with Azure's own inference server

    An Azure ML *managed online endpoint* runs your **scoring script** inside
    `azmlinfsrv`, the Azure ML inference HTTP server: it calls `init()` once when a worker starts
    and `run()` for every request. Ours (`azure/score/score.py`) is deliberately thin — the real
    logic is in `finetune_kit.serve`, where it is tested. `@rawhttp` gives `run()` the raw HTTP
    request so that bad input gets a clear **4xx** answer instead of a crash:
    """),
    code("""
    print((fk.config.REPO_ROOT / "azure" / "score" / "score.py").read_text())
    """),
    md("""
    Now start that very server on this machine (only reachable from this computer, 127.0.0.1),
    exactly as `azmlinfsrv --entry_script score.py --model_dir <onnx folder>` would. Every request
    it answers is logged for monitoring (part D). Where this notebook may not open network
    connections — while it is graded — the same service is called in-process instead.
    """),
    code("""
    import shutil

    collect_dir = fk.config.artifact_dir(profile) / "collected"
    shutil.rmtree(collect_dir, ignore_errors=True)  # start with an empty request log
    server = endpoint.start_local(onnx_dir, collect_dir=collect_dir)
    print("serving with", server.description)
    """),
    code("""
    print(server.score("The battery lasts two full days and the screen is gorgeous."))
    print(server.score(["Great value for money.", "It broke after a week and support never answered."]))
    """),
    md("""
    A public endpoint receives anything. Each of these gets a 4xx status and a message saying what
    is wrong — and the server keeps serving:
    """),
    code("""
    for body in [b"", b'{"inputs": ["unterminated', b'{"inputs": 42}', b'{"inputs": "   "}',
                 '{"inputs": "%s"}' % ("great " * 500_000)]:
        reply = server.post(body)
        print(reply.status, reply.json()["error"]["message"][:90])
    """),
    md("""
    A short **load run**: requests from four client threads at once, a fifth of them malformed. We
    look at the latency percentiles and — most important — that there is not a single 5xx (server
    error) and the server is still alive afterwards. `benchmarks/endpoint_load.py` runs 2,000.
    """),
    code("""
    load = endpoint.load_run(server, test_texts, requests=24 if profile.name == "smoke" else 500, concurrency=4)
    print(load.summary())
    """),
    md("""
    ### D. Monitoring: what is real-time, and what is not

    Two kinds of monitoring run on Azure ML, on different clocks:

    * **Endpoint metrics and logs — near real-time.** Requests per minute, latency, HTTP errors,
      CPU and memory appear in Azure Monitor within a minute or two, and you can alert on them;
      `az ml online-deployment get-logs` shows the server's log.
    * **Data drift, prediction drift and data quality — scheduled.** A *model monitor* runs as a
      job on a schedule (for example daily). It reads the inputs and outputs that the **data
      collector** logged and compares them with a reference window (training or test data). It
      tells you tomorrow that this week's reviews look different; it does not watch each request.

    Our server logged every request in the data collector's format (in Azure the `Collector` of
    `azureml-ai-monitoring` writes them to Blob storage; here they go to local JSON-lines files).
    Let's play the scheduled job. *Week 1:* customers send reviews like the ones we tested on.
    """),
    code("""
    splits = data.load_splits(profile)
    week1 = splits.validation["text"].tolist()
    shutil.rmtree(collect_dir, ignore_errors=True)  # the monitor looks at this week's requests only
    for start in range(0, len(week1), 16):
        server.score(week1[start:start + 16])
    classifier = serve.OnnxClassifier(onnx_dir)
    results, figure = monitoring.drift_check(classifier, test_texts, collect_dir)
    print(monitoring.format_report(results))
    """),
    md("""
    The **population stability index** (PSI) compares two histograms: below 0.1 nothing changed,
    0.1–0.25 a moderate shift, above 0.25 a major one; the Kolmogorov–Smirnov test adds a p-value.
    With only a few dozen reviews per window (smoke profile) both are noisy, and an untrained head
    scores every review close to 0.5, so tiny differences in `p_positive` already look like a shift.

    *Week 2:* a new app version sends only the first five words of each review.
    """),
    code("""
    shutil.rmtree(collect_dir, ignore_errors=True)
    week2 = [" ".join(text.split()[:5]) for text in week1]
    for start in range(0, len(week2), 16):
        server.score(week2[start:start + 16])
    results, figure = monitoring.drift_check(classifier, test_texts, collect_dir)
    print(monitoring.format_report(results))
    figure
    """),
    md("""
    Text length drifted: the model now sees inputs unlike anything it was evaluated on, and its
    accuracy on them is unknown. That is the moment to look at the data, collect labels and maybe
    retrain. We are done with the local server:
    """),
    code("""
    server.stop()
    print("server stopped")
    """),
    md("""
    ### E. Deploying to Azure ML (read, do not run here)

    Two YAML files describe the deployment, both in `azure/deploy/`. The **endpoint** is the
    stable URL with key authentication:
    """),
    code("""print((fk.config.REPO_ROOT / "azure" / "deploy" / "endpoint.yml").read_text())"""),
    md("""
    The **deployment** says what runs behind it: the ONNX folder as the model, the repository as
    code with `score.py` as the scoring script, the serving environment (`conda.yml`: the inference
    server and ONNX Runtime, pinned), the VM size, and the data collector that feeds monitoring:
    """),
    code("""print((fk.config.REPO_ROOT / "azure" / "deploy" / "deployment.yml").read_text())"""),
    md("""
    `azure-ai-ml` checks both files against Azure's schemas without any workspace:
    """),
    code("""
    azure_endpoint, azure_deployment = endpoint.load_azure_specs()
    print(f"endpoint {azure_endpoint.name!r} (auth: {azure_endpoint.auth_mode}) <- deployment "
          f"{azure_deployment.name!r} on {azure_deployment.instance_type}, "
          f"data collector: {list(azure_deployment.data_collector.collections)}")
    """),
    md("""
    With an Azure subscription and the `ml` extension of the Azure CLI, deploying is four commands
    (run from the repository root; `azure/deploy/README.md` has the details and the Python SDK
    version):

    ```bash
    python -m finetune_kit export-onnx --model outputs/offline/sentiment-model --output outputs/offline/onnx
    az ml online-endpoint create -f azure/deploy/endpoint.yml
    az ml online-deployment create -f azure/deploy/deployment.yml --all-traffic
    az ml online-endpoint invoke --name finetune-kit-sentiment --request-file azure/score/sample-request.json
    ```

    `create` builds the environment image, uploads the model and code and starts the VM (about
    10–15 minutes); `--all-traffic` sends every request to this deployment; `invoke` sends the
    sample request with the endpoint key. Delete the endpoint when you are done
    (`az ml online-endpoint delete --name finetune-kit-sentiment`): it costs money while it runs.

    ## Check yourself

    - Why must the parity check run *before* the benchmark matters?
    - Why is int8 faster on short reviews than on long ones?
    - Which of these would you see within minutes, and which only after the monitor's next run:
      a spike of 5xx errors, reviews getting shorter, slower responses?
    """),
]
