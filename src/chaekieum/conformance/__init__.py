"""서비스 적합성 검사: the conformance kit a library's integration must pass before pilot
(docs/conformance.md). catalogue.py is the table of scenarios, checks.py their steps,
runner.py runs them in a sandbox, report.py writes the JSON and HTML reports."""
