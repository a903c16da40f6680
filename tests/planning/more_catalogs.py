"""Five more catalogs for the planning eval, written before the planner was changed for them.

Each case lists the exact set of components a correct plan uses (``exact``), or expects no plan
at all (``refuse``: nothing in the catalog serves the action). ``devops-incident``,
``travel-booking`` and ``healthcare-scheduling`` are the held-out split: the planner is not tuned
while looking at them; their score is reported apart in bench/RESULTS.md.
"""

from __future__ import annotations

from typing import Any

from planning.eval_model import Case, service

__all__ = ["MORE_CASES", "MORE_CATALOGS", "MORE_HELD_OUT"]

MORE_CATALOGS: dict[str, list[dict[str, Any]]] = {
    "finance-payables": [
        service(
            "invoice-extractor",
            "Extracts the vendor, amount, due date and line items from an invoice document.",
            {"documentUrl": "string"},
            {"invoice": "object"},
        ),
        service(
            "vendor-lookup",
            "Retrieves a vendor's record (name, bank details, payment terms) by vendor id.",
            {"vendorId": "string"},
            {"vendor": "object"},
        ),
        service(
            "po-matcher",
            "Matches an invoice against its purchase order and goods receipt (three-way match).",
            {"invoice": "object", "poNumber": "string"},
            {"matchResult": "object"},
        ),
        service(
            "payment-scheduler",
            "Schedules a payment to a vendor for an amount on a date.",
            {"vendor": "object", "amount": "number", "payDate": "string"},
            {"paymentId": "string"},
        ),
        service(
            "fx-converter",
            "Converts an amount of money between two currencies at today's rate.",
            {"amount": "number", "fromCurrency": "string", "toCurrency": "string"},
            {"convertedAmount": "number"},
        ),
        service(
            "expense-categorizer",
            "Assigns the general ledger account and cost centre for an expense.",
            {"description": "string", "amount": "number"},
            {"glAccount": "string", "costCenter": "string"},
        ),
        service(
            "fraud-screen",
            "Screens an invoice for duplicate or fraudulent billing.",
            {"invoice": "object"},
            {"riskScore": "number", "flags": "array"},
        ),
        service(
            "approval-router",
            "Routes a purchase to the person who must approve it, by amount and department.",
            {"amount": "number", "department": "string"},
            {"approver": "string"},
        ),
        service(
            "email-sender",
            "Sends an email with a subject and body to a recipient.",
            {"to": "string", "subject": "string", "body": "string"},
            {"messageId": "string"},
        ),
        service(
            "password-reset",
            "Sends a password reset link to a user's email address.",
            {"email": "string"},
            {"resetSent": "boolean"},
        ),
        service(
            "invoice-reminder",
            "Sends a payment reminder to the customer who owes an overdue invoice.",
            {"invoiceNumber": "string"},
            {"reminderSent": "boolean"},
        ),
        service(
            "cash-forecast",
            "Forecasts the company's cash position for the coming weeks.",
            {"weeks": "integer"},
            {"forecast": "array"},
        ),
    ],
    "legal-contracts": [
        service(
            "contract-fetcher",
            "Retrieves a contract document and its metadata by contract id.",
            {"contractId": "string"},
            {"contract": "object"},
        ),
        service(
            "clause-extractor",
            "Extracts the clauses (termination, liability, renewal, payment) from a contract.",
            {"contract": "object"},
            {"clauses": "array"},
        ),
        service(
            "risk-reviewer",
            "Reviews contract clauses for legal risk and unusual terms.",
            {"clauses": "array"},
            {"risks": "array"},
        ),
        service(
            "renewal-tracker",
            "Lists the contracts that renew or expire within a number of days.",
            {"withinDays": "integer"},
            {"contracts": "array"},
        ),
        service(
            "signature-requester",
            "Sends a contract to its signers for an electronic signature.",
            {"contract": "object", "signers": "array"},
            {"envelopeId": "string"},
        ),
        service(
            "template-filler",
            "Drafts a contract from a template and the parties' details.",
            {"templateName": "string", "parties": "array"},
            {"contract": "object"},
        ),
        service(
            "counterparty-check",
            "Checks a company against sanctions and watch lists.",
            {"companyName": "string"},
            {"sanctioned": "boolean", "matches": "array"},
        ),
        service(
            "summary-writer",
            "Writes a plain-language summary of a contract for a non-lawyer.",
            {"contract": "object"},
            {"summary": "string"},
        ),
        service(
            "legal-research",
            "Searches case law and statutes for a legal question.",
            {"question": "string"},
            {"authorities": "array"},
        ),
        service(
            "calendar-event",
            "Creates a calendar event with a title on a date.",
            {"title": "string", "date": "string"},
            {"eventId": "string"},
        ),
    ],
    "devops-incident": [
        service(
            "alert-fetcher",
            "Retrieves an alert's details (service, severity, first seen) by alert id.",
            {"alertId": "string"},
            {"alert": "object"},
        ),
        service(
            "log-search",
            "Searches application logs for a query over a time window.",
            {"query": "string", "since": "string"},
            {"logLines": "array"},
        ),
        service(
            "metrics-query",
            "Queries a service's metrics (latency, error rate) over a time window.",
            {"serviceName": "string", "since": "string"},
            {"metrics": "object"},
        ),
        service(
            "deploy-history",
            "Lists the recent deployments of a service.",
            {"serviceName": "string"},
            {"deployments": "array"},
        ),
        service(
            "rollback-runner",
            "Rolls a service back to its previous deployment.",
            {"serviceName": "string"},
            {"rollbackId": "string"},
        ),
        service(
            "oncall-lookup",
            "Finds the engineer who is on call for a team right now.",
            {"team": "string"},
            {"engineer": "object"},
        ),
        service(
            "pager",
            "Pages an engineer with a message.",
            {"engineer": "object", "message": "string"},
            {"pageId": "string"},
        ),
        service(
            "incident-summarizer",
            "Writes an incident summary from an alert, its logs and metrics.",
            {"alert": "object", "logLines": "array", "metrics": "object"},
            {"summary": "string"},
        ),
        service(
            "status-page-updater",
            "Posts an update to the public status page.",
            {"message": "string"},
            {"postId": "string"},
        ),
        service(
            "runbook-search",
            "Finds the runbook for a kind of alert.",
            {"query": "string"},
            {"runbook": "object"},
        ),
        service(
            "cost-report",
            "Reports cloud spend per service for a month.",
            {"month": "string"},
            {"costs": "array"},
        ),
    ],
    "travel-booking": [
        service(
            "flight-search",
            "Searches flights between two airports on a date.",
            {"origin": "string", "destination": "string", "date": "string"},
            {"flights": "array"},
        ),
        service(
            "hotel-search",
            "Finds hotels in a city for check-in and check-out dates.",
            {"city": "string", "checkIn": "string", "checkOut": "string"},
            {"hotels": "array"},
        ),
        service(
            "fare-booker",
            "Books a chosen flight for a traveler.",
            {"flights": "array", "traveler": "object"},
            {"bookingReference": "string"},
        ),
        service(
            "hotel-booker",
            "Reserves a room at a chosen hotel for a traveler.",
            {"hotels": "array", "traveler": "object"},
            {"reservationId": "string"},
        ),
        service(
            "traveler-profile",
            "Retrieves a traveler's profile (name, passport, loyalty numbers) by traveler id.",
            {"travelerId": "string"},
            {"traveler": "object"},
        ),
        service(
            "visa-checker",
            "Tells whether a passport holder needs a visa to enter a destination country.",
            {"nationality": "string", "destinationCountry": "string"},
            {"visaRequired": "boolean", "notes": "string"},
        ),
        service(
            "weather-forecast",
            "Forecasts the weather in a city on a date.",
            {"city": "string", "date": "string"},
            {"forecast": "object"},
        ),
        service(
            "currency-rates",
            "Gives the exchange rate between two currencies.",
            {"fromCurrency": "string", "toCurrency": "string"},
            {"rate": "number"},
        ),
        service(
            "itinerary-writer",
            "Writes a day-by-day itinerary from a flight booking and a hotel reservation.",
            {"bookingReference": "string", "reservationId": "string"},
            {"itinerary": "string"},
        ),
        service(
            "trip-cancel",
            "Cancels a flight booking and requests a refund.",
            {"bookingReference": "string"},
            {"refundStatus": "string"},
        ),
        service(
            "car-rental",
            "Rents a car in a city for a pick-up and drop-off date.",
            {"city": "string", "pickUp": "string", "dropOff": "string"},
            {"rentalId": "string"},
        ),
    ],
    "healthcare-scheduling": [
        service(
            "patient-lookup",
            "Retrieves a patient's record (name, date of birth, insurance) by patient id.",
            {"patientId": "string"},
            {"patient": "object"},
        ),
        service(
            "provider-directory",
            "Finds doctors by specialty and location.",
            {"specialty": "string", "location": "string"},
            {"providers": "array"},
        ),
        service(
            "slot-finder",
            "Finds open appointment slots with a provider between two dates.",
            {"providerId": "string", "fromDate": "string", "toDate": "string"},
            {"slots": "array"},
        ),
        service(
            "appointment-booker",
            "Books an appointment slot for a patient.",
            {"patient": "object", "slots": "array"},
            {"appointmentId": "string"},
        ),
        service(
            "appointment-canceller",
            "Cancels a patient's appointment.",
            {"appointmentId": "string"},
            {"cancelled": "boolean"},
        ),
        service(
            "insurance-verifier",
            "Checks a patient's insurance eligibility for a medical service.",
            {"patient": "object", "serviceCode": "string"},
            {"eligible": "boolean", "copay": "number"},
        ),
        service(
            "reminder-sender",
            "Sends an appointment reminder text message to the patient.",
            {"appointmentId": "string"},
            {"sent": "boolean"},
        ),
        service(
            "symptom-triage",
            "Suggests how urgently a patient should be seen, from their symptoms.",
            {"symptoms": "string"},
            {"urgency": "string", "advice": "string"},
        ),
        service(
            "prescription-refill",
            "Requests a refill of a patient's prescription from their pharmacy.",
            {"patientId": "string", "medication": "string"},
            {"refillId": "string"},
        ),
        service(
            "lab-results",
            "Retrieves a patient's latest lab results by patient id.",
            {"patientId": "string"},
            {"results": "array"},
        ),
    ],
}

#: the catalogs no tuning looks at (only their aggregate score is read)
MORE_HELD_OUT = frozenset({"devops-incident", "travel-booking", "healthcare-scheduling"})


def _exact(
    catalog: str, rows: list[tuple[str, str, dict[str, Any], set[str] | None]]
) -> list[Case]:
    """Cases judged on the exact component set; ``None``: no plan should be made."""
    return [
        Case(
            catalog,
            type_,
            content,
            data,
            frozenset(expected or ()),
            exact=True,
            refuse=expected is None,
        )
        for type_, content, data, expected in rows
    ]


MORE_CASES: list[Case] = [
    *_exact(
        "finance-payables",
        [
            (
                "extract-invoice",
                "Pull the vendor and amount out of this invoice",
                {"documentUrl": "https://docs.example/inv-1.pdf"},
                {"invoice-extractor"},
            ),
            (
                "three-way-match",
                "Check whether this invoice matches its purchase order",
                {"documentUrl": "https://docs.example/inv-2.pdf", "poNumber": "PO-77"},
                {"invoice-extractor", "po-matcher"},
            ),
            (
                "screen-invoice",
                "Is this invoice a duplicate or a fraud?",
                {"documentUrl": "https://docs.example/inv-3.pdf"},
                {"invoice-extractor", "fraud-screen"},
            ),
            (
                "pay-vendor",
                "Schedule a payment of 1200 to vendor V-88 on Friday",
                {"vendorId": "V-88", "amount": 1200, "payDate": "2026-12-11"},
                {"vendor-lookup", "payment-scheduler"},
            ),
            (
                "convert",
                "Convert 500 euros to US dollars",
                {"amount": 500, "fromCurrency": "EUR", "toCurrency": "USD"},
                {"fx-converter"},
            ),
            (
                "categorize-expense",
                "Which ledger account should this taxi ride be booked to?",
                {"description": "taxi to airport", "amount": 42.5},
                {"expense-categorizer"},
            ),
            (
                "route-approval",
                "Who has to approve a 40,000 purchase for marketing?",
                {"amount": 40000, "department": "marketing"},
                {"approval-router"},
            ),
            (
                "invoice-reminder",
                "Send a reminder for overdue invoice INV-2231",
                {"invoiceNumber": "INV-2231"},
                {"invoice-reminder"},
            ),
            (
                "cash-outlook",
                "What will our cash look like over the next 8 weeks?",
                {"weeks": 8},
                {"cash-forecast"},
            ),
            (
                "vendor-terms",
                "What are the payment terms of vendor V-12?",
                {"vendorId": "V-12"},
                {"vendor-lookup"},
            ),
            (
                "invoice-intake",
                "Extract this invoice, screen it for fraud and match it to its purchase order",
                {"documentUrl": "https://docs.example/inv-4.pdf", "poNumber": "PO-78"},
                {"invoice-extractor", "fraud-screen", "po-matcher"},
            ),
            ("book-flight", "Book me a flight to Berlin next Tuesday", {}, None),
        ],
    ),
    *_exact(
        "legal-contracts",
        [
            ("get-contract", "Open contract C-19", {"contractId": "C-19"}, {"contract-fetcher"}),
            (
                "contract-risk",
                "What are the risky clauses in contract C-4?",
                {"contractId": "C-4"},
                {"contract-fetcher", "clause-extractor", "risk-reviewer"},
            ),
            (
                "explain-contract",
                "Explain contract C-8 to me in plain words",
                {"contractId": "C-8"},
                {"contract-fetcher", "summary-writer"},
            ),
            (
                "renewals",
                "Which contracts renew in the next 30 days?",
                {"withinDays": 30},
                {"renewal-tracker"},
            ),
            (
                "send-for-signature",
                "Send contract C-2 to Ana and Ben for signature",
                {"contractId": "C-2", "signers": ["ana@x.example", "ben@x.example"]},
                {"contract-fetcher", "signature-requester"},
            ),
            (
                "draft-nda",
                "Draft an NDA between Acme and Globex",
                {"templateName": "mutual-nda", "parties": ["Acme", "Globex"]},
                {"template-filler"},
            ),
            (
                "sanctions",
                "Is Oblast Trading on any sanctions list?",
                {"companyName": "Oblast Trading"},
                {"counterparty-check"},
            ),
            (
                "case-law",
                "What does case law say about liquidated damages in leases?",
                {"question": "liquidated damages in commercial leases"},
                {"legal-research"},
            ),
            (
                "clauses",
                "List the clauses of contract C-5",
                {"contractId": "C-5"},
                {"contract-fetcher", "clause-extractor"},
            ),
            (
                "draft-and-sign",
                "Draft a services agreement for Acme and Initech and send it for signature",
                {
                    "templateName": "services",
                    "parties": ["Acme", "Initech"],
                    "signers": ["ceo@acme.example"],
                },
                {"template-filler", "signature-requester"},
            ),
            (
                "review-and-summarize",
                "Summarize contract C-6 and review its clauses for risk",
                {"contractId": "C-6"},
                {"contract-fetcher", "summary-writer", "clause-extractor", "risk-reviewer"},
            ),
            ("office-party", "Order balloons for the office party", {}, None),
        ],
    ),
    *_exact(
        "devops-incident",
        [
            ("show-alert", "Show me alert A-77", {"alertId": "A-77"}, {"alert-fetcher"}),
            (
                "incident-summary",
                "Summarize the incident behind alert A-9",
                {"alertId": "A-9", "query": "error", "since": "1h", "serviceName": "checkout"},
                {"alert-fetcher", "log-search", "metrics-query", "incident-summarizer"},
            ),
            (
                "rollback",
                "Roll back the checkout service",
                {"serviceName": "checkout"},
                {"rollback-runner"},
            ),
            (
                "page-oncall",
                "Page whoever is on call for payments about the outage",
                {"team": "payments", "message": "checkout is down"},
                {"oncall-lookup", "pager"},
            ),
            (
                "recent-deploys",
                "What were the last deploys of search-api?",
                {"serviceName": "search-api"},
                {"deploy-history"},
            ),
            (
                "find-errors",
                "Find timeout errors in the logs since 10:00",
                {"query": "timeout", "since": "10:00"},
                {"log-search"},
            ),
            (
                "runbook",
                "What's the runbook for disk full alerts?",
                {"query": "disk full"},
                {"runbook-search"},
            ),
            (
                "status-update",
                "Post on the status page that we are investigating",
                {"message": "We are investigating elevated errors."},
                {"status-page-updater"},
            ),
            (
                "rollback-and-announce",
                "Roll back the payments service and post a status page update",
                {"serviceName": "payments", "message": "Rolled back a faulty release."},
                {"rollback-runner", "status-page-updater"},
            ),
            (
                "cloud-spend",
                "How much did we spend on cloud in March?",
                {"month": "2026-03"},
                {"cost-report"},
            ),
            (
                "error-rate",
                "What's the error rate of api-gateway over the last hour?",
                {"serviceName": "api-gateway", "since": "1h"},
                {"metrics-query"},
            ),
            ("order-pizza", "Order pizza for the team tonight", {}, None),
        ],
    ),
    *_exact(
        "travel-booking",
        [
            (
                "search-flights",
                "Find flights from LHR to JFK on 12 May",
                {"origin": "LHR", "destination": "JFK", "date": "2027-05-12"},
                {"flight-search"},
            ),
            (
                "search-hotels",
                "Find a hotel in Lisbon from 3 to 6 June",
                {"city": "Lisbon", "checkIn": "2027-06-03", "checkOut": "2027-06-06"},
                {"hotel-search"},
            ),
            (
                "visa",
                "Do I need a visa to visit Japan?",
                {"nationality": "BR", "destinationCountry": "JP"},
                {"visa-checker"},
            ),
            (
                "weather",
                "What's the weather in Rome on Saturday?",
                {"city": "Rome", "date": "2026-12-12"},
                {"weather-forecast"},
            ),
            (
                "cancel-trip",
                "Cancel my flight booking ABC123",
                {"bookingReference": "ABC123"},
                {"trip-cancel"},
            ),
            (
                "rent-car",
                "Rent a car in Porto from Friday to Monday",
                {"city": "Porto", "pickUp": "2026-12-11", "dropOff": "2026-12-14"},
                {"car-rental"},
            ),
            (
                "itinerary",
                "Write my trip itinerary",
                {"bookingReference": "ABC123", "reservationId": "R-9"},
                {"itinerary-writer"},
            ),
            (
                "exchange-rate",
                "What's the exchange rate from GBP to EUR?",
                {"fromCurrency": "GBP", "toCurrency": "EUR"},
                {"currency-rates"},
            ),
            (
                "book-flight",
                "Book a flight from Paris to Berlin on 1 July for traveler T-7",
                {"origin": "CDG", "destination": "BER", "date": "2027-07-01", "travelerId": "T-7"},
                {"flight-search", "traveler-profile", "fare-booker"},
            ),
            (
                "weather-and-visa",
                "Check the weather in Oslo on 2 March and whether I need a visa for Norway",
                {
                    "city": "Oslo",
                    "date": "2027-03-02",
                    "nationality": "IN",
                    "destinationCountry": "NO",
                },
                {"weather-forecast", "visa-checker"},
            ),
            (
                "loyalty",
                "Show traveler T-3's loyalty numbers",
                {"travelerId": "T-3"},
                {"traveler-profile"},
            ),
            ("fix-wifi", "Fix my laptop's wifi", {}, None),
        ],
    ),
    *_exact(
        "healthcare-scheduling",
        [
            (
                "find-doctor",
                "Find a cardiologist in Leeds",
                {"specialty": "cardiology", "location": "Leeds"},
                {"provider-directory"},
            ),
            (
                "cancel",
                "Cancel appointment AP-55",
                {"appointmentId": "AP-55"},
                {"appointment-canceller"},
            ),
            (
                "remind",
                "Send a reminder for appointment AP-9",
                {"appointmentId": "AP-9"},
                {"reminder-sender"},
            ),
            (
                "coverage",
                "Is patient P-4 covered for an MRI?",
                {"patientId": "P-4", "serviceCode": "MRI"},
                {"patient-lookup", "insurance-verifier"},
            ),
            (
                "book",
                "Book patient P-2 with doctor D-1 next week",
                {
                    "patientId": "P-2",
                    "providerId": "D-1",
                    "fromDate": "2026-12-07",
                    "toDate": "2026-12-11",
                },
                {"patient-lookup", "slot-finder", "appointment-booker"},
            ),
            (
                "triage",
                "I have chest pain and shortness of breath, how soon should I be seen?",
                {"symptoms": "chest pain, shortness of breath"},
                {"symptom-triage"},
            ),
            (
                "refill",
                "Refill my metformin",
                {"patientId": "P-3", "medication": "metformin"},
                {"prescription-refill"},
            ),
            ("labs", "Show the latest lab results for P-8", {"patientId": "P-8"}, {"lab-results"}),
            (
                "availability",
                "When is Dr D-3 free between 1 and 5 May?",
                {"providerId": "D-3", "fromDate": "2027-05-01", "toDate": "2027-05-05"},
                {"slot-finder"},
            ),
            (
                "record-and-labs",
                "Get patient P-1's record and their latest lab results",
                {"patientId": "P-1"},
                {"patient-lookup", "lab-results"},
            ),
            (
                "birth-date",
                "What's patient P-6's date of birth?",
                {"patientId": "P-6"},
                {"patient-lookup"},
            ),
            ("translate", "Translate this poem into French", {}, None),
        ],
    ),
]
