"""The planning eval: realistic service catalogs and the actions people send them.

A case names the components a correct plan uses. The first catalogs' cases pass when the plan
is valid, uses every one of them and none of the ``avoid`` list; the later ones
(``more_catalogs.py``, and the ``_exact`` cases below) are judged on the exact component set,
or expect no plan at all. Run it with ``python bench/planning_eval.py`` (prints every case) or
through ``tests/planning/test_eval.py`` (fails below the floor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planning.eval_model import Case, service
from planning.more_catalogs import MORE_CASES, MORE_CATALOGS, MORE_HELD_OUT

CATALOGS: dict[str, list[dict[str, Any]]] = {
    "support-desk": [
        service(
            "customer-lookup",
            "Retrieves a customer's account (name, plan, email) by customer id.",
            {"customerId": "string"},
            {"customer": "object"},
        ),
        service(
            "order-lookup",
            "Retrieves an order's status, items and shipping details by order id.",
            {"orderId": "string"},
            {"order": "object"},
        ),
        service(
            "ticket-classifier",
            "Classifies a support message by topic and urgency.",
            {"message": "string"},
            {"topic": "string", "urgency": "string"},
        ),
        service(
            "kb-search",
            "Searches the knowledge base for help articles that answer a question.",
            {"query": "string"},
            {"articles": "array"},
        ),
        service(
            "reply-writer",
            "Writes a reply to a customer's support message using the customer's account and "
            "relevant help articles.",
            {"message": "string", "customer": "object", "articles": "array"},
            {"reply": "string"},
        ),
        service(
            "refund-eligibility",
            "Checks whether an order can be refunded under the refund policy.",
            {"order": "object"},
            {"eligible": "boolean", "policyNote": "string"},
        ),
        service(
            "refund-processor",
            "Issues a refund for an order to the original payment method.",
            {"orderId": "string"},
            {"refundId": "string"},
        ),
        service(
            "escalation",
            "Escalates a ticket to a human support agent with its urgency.",
            {"message": "string", "urgency": "string"},
            {"ticketId": "string"},
        ),
        service(
            "sentiment-analyzer",
            "Detects the sentiment and frustration of a customer message.",
            {"message": "string"},
            {"sentiment": "string"},
        ),
    ],
    "e-commerce-fulfilment": [
        service(
            "inventory-check",
            "Checks stock levels for a product SKU across warehouses.",
            {"sku": "string"},
            {"available": "integer", "warehouse": "string"},
        ),
        service(
            "order-validator",
            "Validates an order's items, quantities and shipping address.",
            {"orderId": "string"},
            {"validOrder": "object"},
        ),
        service(
            "payment-capture",
            "Captures the payment for a validated order.",
            {"validOrder": "object"},
            {"paymentId": "string"},
        ),
        service(
            "fraud-screen",
            "Screens an order for payment fraud risk.",
            {"orderId": "string"},
            {"riskScore": "number"},
        ),
        service(
            "shipping-rates",
            "Calculates shipping rates and delivery estimates for an address and parcel weight.",
            {"address": "string", "weight": "number"},
            {"rates": "array"},
        ),
        service(
            "label-printer",
            "Creates a shipping label for an order with the chosen carrier.",
            {"orderId": "string", "carrier": "string"},
            {"labelUrl": "string", "trackingNumber": "string"},
        ),
        service(
            "shipment-tracker",
            "Tracks a shipment by tracking number and reports where the parcel is.",
            {"trackingNumber": "string"},
            {"trackingStatus": "string"},
        ),
        service(
            "customer-notifier",
            "Sends an email notification to a customer.",
            {"email": "string", "message": "string"},
            {"notificationId": "string"},
        ),
        service(
            "restock-planner",
            "Plans a restock order for a product that is low in stock.",
            {"sku": "string", "available": "integer"},
            {"restockOrder": "object"},
        ),
    ],
    "research-assistant": [
        service(
            "web-search",
            "Searches the web for pages and news about a topic.",
            {"query": "string"},
            {"results": "array"},
        ),
        service(
            "paper-search",
            "Searches academic papers on arXiv and Semantic Scholar for a topic.",
            {"query": "string"},
            {"papers": "array"},
        ),
        service(
            "page-fetcher",
            "Fetches a web page by URL and extracts its readable text.",
            {"url": "string"},
            {"text": "string"},
        ),
        service(
            "summarizer",
            "Summarizes a long text into key points.",
            {"text": "string"},
            {"summary": "string"},
        ),
        service(
            "citation-formatter",
            "Formats papers as citations in APA or BibTeX style.",
            {"papers": "array", "style": "string"},
            {"citations": "string"},
            optional=("style",),
        ),
        service(
            "fact-checker",
            "Checks whether a claim is supported by web search results.",
            {"claim": "string", "results": "array"},
            {"verdict": "string"},
        ),
        service(
            "translator",
            "Translates text into a target language.",
            {"text": "string", "targetLanguage": "string"},
            {"translation": "string"},
        ),
        service(
            "report-writer",
            "Writes a research report on a topic from academic papers and web results.",
            {"topic": "string", "papers": "array", "results": "array"},
            {"report": "string"},
        ),
    ],
    # held out: written after the planner was tuned on the three catalogs above, never tuned on
    "hr-recruiting": [
        service(
            "resume-parser",
            "Parses a resume document into structured skills, experience and education.",
            {"resumeUrl": "string"},
            {"candidate": "object"},
        ),
        service(
            "job-matcher",
            "Scores how well a candidate fits a job opening.",
            {"candidate": "object", "jobId": "string"},
            {"fitScore": "number", "gaps": "array"},
        ),
        service(
            "interview-scheduler",
            "Schedules an interview between a candidate and the hiring team.",
            {"candidateEmail": "string", "jobId": "string"},
            {"interviewTime": "string"},
        ),
        service(
            "offer-letter",
            "Drafts an offer letter with salary and start date for a hired candidate.",
            {"candidateName": "string", "salary": "number"},
            {"letter": "string"},
        ),
        service(
            "background-check",
            "Runs a background and reference check on a candidate.",
            {"candidateEmail": "string"},
            {"cleared": "boolean"},
        ),
        service(
            "job-posting",
            "Publishes a job opening to job boards.",
            {"title": "string", "description": "string"},
            {"postingUrl": "string"},
        ),
        service(
            "salary-benchmark",
            "Gives the market salary range for a job title in a location.",
            {"title": "string", "location": "string"},
            {"salaryRange": "object"},
        ),
        service(
            "employee-directory",
            "Looks up a current employee's role, team and manager by email.",
            {"employeeEmail": "string"},
            {"employee": "object"},
        ),
    ],
    **MORE_CATALOGS,
}


def _cases(catalog: str, rows: list[tuple[Any, ...]]) -> list[Case]:
    cases = []
    for row in rows:
        type_, content, data, must = row[:4]
        avoid = row[4] if len(row) > 4 else ()
        cases.append(Case(catalog, type_, content, data, frozenset(must), frozenset(avoid)))
    return cases


CASES: list[Case] = [
    *_cases(
        "support-desk",
        [
            (
                "customer-inquiry",
                "How do I reset my password?",
                {"customerId": "c-1"},
                {"reply-writer", "kb-search", "customer-lookup"},
            ),
            (
                "order-status",
                "Where is my order?",
                {"orderId": "o-1"},
                {"order-lookup"},
                {"refund-eligibility", "refund-processor"},
            ),
            (
                "refund-check",
                "Can order 5531 be refunded?",
                {"orderId": "5531"},
                {"refund-eligibility", "order-lookup"},
            ),
            (
                "refund",
                "Issue a refund for this order",
                {"orderId": "o-2"},
                {"refund-processor"},
            ),
            (
                "escalate-ticket",
                "Third time writing: escalate this to a human agent now",
                {},
                {"escalation", "ticket-classifier"},
            ),
            (
                "classify-ticket",
                "Classify this message by topic and urgency: my invoice is wrong",
                {},
                {"ticket-classifier"},
            ),
            (
                "knowledge-search",
                "Find help articles about exporting data to CSV",
                {},
                {"kb-search"},
            ),
            (
                "sentiment-check",
                "How frustrated is this customer? Detect the sentiment of the message",
                {},
                {"sentiment-analyzer"},
            ),
            (
                "customer-profile",
                "Look up the customer's account details",
                {"customerId": "c-2"},
                {"customer-lookup"},
                {"reply-writer"},
            ),
            (
                "support-reply",
                "Write a reply to the customer's message about billing",
                {"customerId": "c-3"},
                {"reply-writer", "customer-lookup", "kb-search"},
            ),
        ],
    ),
    *_cases(
        "e-commerce-fulfilment",
        [
            ("check-stock", "Is SKU-123 in stock?", {"sku": "SKU-123"}, {"inventory-check"}),
            (
                "capture-payment",
                "Capture the payment for this order",
                {"orderId": "o-9"},
                {"payment-capture", "order-validator"},
            ),
            (
                "fraud-check",
                "Screen the order for fraud risk",
                {"orderId": "o-9"},
                {"fraud-screen"},
            ),
            (
                "shipping-quote",
                "What would shipping cost for this parcel?",
                {"address": "1 Main St", "weight": 2.5},
                {"shipping-rates"},
            ),
            (
                "create-label",
                "Print a shipping label for the order",
                {"orderId": "o-9", "carrier": "ups"},
                {"label-printer"},
            ),
            (
                "track-package",
                "Where is my parcel? Track the shipment",
                {"trackingNumber": "1Z999"},
                {"shipment-tracker"},
            ),
            (
                "notify-customer",
                "Send the customer an email that the order has shipped",
                {"email": "a@example.com"},
                {"customer-notifier"},
            ),
            (
                "restock",
                "Plan a restock for this product if it is low in stock",
                {"sku": "SKU-9"},
                {"restock-planner", "inventory-check"},
            ),
            (
                "validate-order",
                "Validate the order's items and address",
                {"orderId": "o-9"},
                {"order-validator"},
                {"payment-capture"},
            ),
            (
                "charge-order",
                "Charge the customer for the order",
                {"orderId": "o-9"},
                {"payment-capture", "order-validator"},
            ),
            (
                "delivery-estimate",
                "When will it arrive if shipped to this address?",
                {"address": "1 Main St", "weight": 1.0},
                {"shipping-rates"},
            ),
        ],
    ),
    *_cases(
        "research-assistant",
        [
            (
                "web-research",
                "Search the web for recent news on solid-state batteries",
                {},
                {"web-search"},
                {"report-writer"},
            ),
            (
                "literature-search",
                "Find academic papers on graph neural networks",
                {},
                {"paper-search"},
                {"report-writer"},
            ),
            (
                "summarize-page",
                "Summarize this web page",
                {"url": "https://example.com/a"},
                {"summarizer", "page-fetcher"},
            ),
            (
                "cite-papers",
                "Find papers on diffusion models and format them as BibTeX citations",
                {},
                {"citation-formatter", "paper-search"},
            ),
            (
                "fact-check",
                "Is it true that octopuses have three hearts? Check this claim",
                {},
                {"fact-checker", "web-search"},
            ),
            (
                "translate-page",
                "Translate this page into German",
                {"url": "https://example.com/b", "targetLanguage": "de"},
                {"translator", "page-fetcher"},
            ),
            (
                "research-report",
                "Write a research report on carbon capture",
                {},
                {"report-writer", "paper-search", "web-search"},
            ),
            (
                "summarize-text",
                "Summarize the following text into key points",
                {"text": "Long text ..."},
                {"summarizer"},
                {"page-fetcher"},
            ),
            (
                "translate-text",
                "Translate the text to Spanish",
                {"text": "Hello", "targetLanguage": "es"},
                {"translator"},
                {"page-fetcher"},
            ),
            (
                "fetch-page",
                "Fetch the page and extract its text",
                {"url": "https://example.com/c"},
                {"page-fetcher"},
            ),
        ],
    ),
    *_cases(
        "hr-recruiting",
        [
            (
                "screen-candidate",
                "How well does this candidate fit the opening?",
                {"resumeUrl": "https://cv.example/1.pdf", "jobId": "j-1"},
                {"job-matcher", "resume-parser"},
            ),
            (
                "parse-resume",
                "Extract the skills from this resume",
                {"resumeUrl": "https://cv.example/2.pdf"},
                {"resume-parser"},
                {"job-matcher"},
            ),
            (
                "schedule-interview",
                "Book an interview with the candidate next week",
                {"candidateEmail": "a@example.com", "jobId": "j-2"},
                {"interview-scheduler"},
            ),
            (
                "make-offer",
                "Write an offer letter for the candidate",
                {"candidateName": "Ada", "salary": 120000},
                {"offer-letter"},
            ),
            (
                "background",
                "Run a background check before we hire her",
                {"candidateEmail": "b@example.com"},
                {"background-check"},
            ),
            (
                "post-job",
                "Publish the senior engineer opening on job boards",
                {"title": "Senior engineer", "description": "Build things"},
                {"job-posting"},
            ),
            (
                "references",
                "Check the candidate's references",
                {"candidateEmail": "c@example.com"},
                {"background-check"},
            ),
            (
                "candidate-gaps",
                "What skills is this applicant missing for the role?",
                {"resumeUrl": "https://cv.example/3.pdf", "jobId": "j-3"},
                {"job-matcher", "resume-parser"},
            ),
        ],
    ),
]

#: added with the later catalogs: several goals in one action, a chain, a refusal
CASES += [
    Case(
        "support-desk",
        "triage",
        "Classify this ticket, check the customer's mood and find help articles for it",
        {"message": "My invoice is wrong again!!", "query": "invoice is wrong"},
        frozenset({"ticket-classifier", "sentiment-analyzer", "kb-search"}),
        exact=True,
    ),
    Case(
        "research-assistant",
        "read-page",
        "Fetch this page and summarise it",
        {"url": "https://example.org/article"},
        frozenset({"page-fetcher", "summarizer"}),
        exact=True,
    ),
    Case("support-desk", "wedding", "Plan my wedding", {}, frozenset(), exact=True, refuse=True),
    *MORE_CASES,
]

#: the catalogs the planner is never tuned on (only their aggregate score is read); the first
#: eval's held-out catalog, hr-recruiting, has been looked at since and now counts as training
HELD_OUT = MORE_HELD_OUT


@dataclass
class Outcome:
    case: Case
    components: list[str]
    passed: bool
    note: str


def judge(case: Case, preview: dict[str, Any]) -> Outcome:
    plan = preview.get("plan")
    valid = plan is not None and preview.get("validation", {}).get("valid")
    if case.refuse:
        if not valid:
            return Outcome(case, [], True, "")
        return Outcome(case, [s["component"] for s in plan["steps"]], False, "should refuse")
    if not valid:
        return Outcome(case, [], False, preview.get("message") or "no valid plan")
    used = [s["component"] for s in plan["steps"]]
    extra = set(used) - case.must_use if case.exact else case.avoid & set(used)
    missing = case.must_use - set(used)
    if missing or extra:
        note = "; ".join(
            part
            for part in (
                f"missing {', '.join(sorted(missing))}" if missing else "",
                f"should not use {', '.join(sorted(extra))}" if extra else "",
            )
            if part
        )
        return Outcome(case, used, False, note)
    return Outcome(case, used, True, "")


def run_eval(url: str) -> list[Outcome]:
    """Register each catalog in its own project on the server at ``url``; preview every case."""
    import httpx

    outcomes = []
    with httpx.Client(base_url=url, timeout=60) as client:
        keys = {}
        for catalog, services in CATALOGS.items():
            project = client.post("/register/project", json={"name": f"eval-{catalog}"}).json()
            keys[catalog] = project["apiKey"]
            for body in services:
                answer = client.post(
                    "/register/service",
                    json=body,
                    headers={"Authorization": f"Bearer {keys[catalog]}"},
                )
                answer.raise_for_status()
        for case in CASES:
            preview = client.post(
                "/orchestrations",
                json={**case.request(), "dryRun": True},
                headers={"Authorization": f"Bearer {keys[case.catalog]}"},
            )
            preview.raise_for_status()
            outcomes.append(judge(case, preview.json()))
    return outcomes


def report(outcomes: list[Outcome], *, show_held_out: bool = False) -> str:
    """Each training case's plan and the scores; the held-out cases only as a score unless
    ``show_held_out`` (whoever tunes the planner must not see them case by case)."""
    lines = []
    for o in outcomes:
        if o.case.catalog in HELD_OUT and not show_held_out:
            continue
        mark = "pass" if o.passed else "FAIL"
        lines.append(
            f"{mark}  {o.case.catalog:<22} {o.case.type:<18} {' → '.join(o.components) or '-'}"
            + (f"   ({o.note})" if o.note else "")
        )
    for label, part in (
        ("training catalogs", [o for o in outcomes if o.case.catalog not in HELD_OUT]),
        ("held-out catalogs", [o for o in outcomes if o.case.catalog in HELD_OUT]),
        ("all", outcomes),
    ):
        passed = sum(o.passed for o in part)
        lines.append(f"score, {label}: {passed}/{len(part)} = {passed / len(part):.3f}")
    return "\n".join(lines)


def score(outcomes: list[Outcome], *, held_out: bool | None = None) -> float:
    part = [o for o in outcomes if held_out is None or (o.case.catalog in HELD_OUT) == held_out]
    return sum(o.passed for o in part) / len(part)
