"""Issue 28's failure classes, one pinned example each, on a catalog written for this file (not
one of the eval's): each test fails on the planner as it was before issue 28."""

from __future__ import annotations

from typing import Any

from planning.eval_model import service
from planning.test_schema_flow import _service, components, plan

from orra_server.planning import PlanningRequest, ServiceSpec
from orra_server.planning.clauses import Clause, clauses_of, pointer
from orra_server.planning.evidence import acts, asked_thing, told
from orra_server.planning.reading import Reading
from orra_server.planning.relevance import ServiceIndex, terms


def _catalog(*rows: tuple[str, str, dict[str, str], dict[str, str]]) -> list[ServiceSpec]:
    """Services from (name, description, inputs, outputs) rows."""
    return [_service(service(*row)) for row in rows]


CLINIC = _catalog(
    (
        "appointment-finder",
        "Finds the open appointment slots with a doctor on a date.",
        {"doctorId": "string", "date": "string"},
        {"slots": "array"},
    ),
    (
        "appointment-booker",
        "Books an appointment slot for a patient.",
        {"patientId": "string", "slot": "string"},
        {"appointmentId": "string"},
    ),
    (
        "appointment-mover",
        "Shifts a patient's appointment to a new time.",
        {"appointmentId": "string", "newTime": "string"},
        {"confirmation": "string"},
    ),
    (
        "patient-record",
        "Retrieves a patient's record: allergies, medications and insurer.",
        {"patientId": "string"},
        {"record": "object", "email": "string"},
    ),
    (
        "reminder-sender",
        "Emails a patient a reminder of their record's upcoming visits.",
        {"email": "string", "record": "object"},
        {"messageId": "string"},
    ),
    (
        "lab-results",
        "Reports a patient's latest lab test results.",
        {"patientId": "string"},
        {"results": "object"},
    ),
    (
        "scan-fetcher",
        "Downloads an X-ray or MRI scan image by its id.",
        {"scanId": "string"},
        {"imageUrl": "string"},
    ),
    (
        "scan-reader",
        "Describes the findings in a scan image.",
        {"imageUrl": "string"},
        {"findings": "string"},
    ),
)


def _plan(content: str, data: dict[str, Any] | None = None, action: str = "clinic"):
    return plan(CLINIC, action, content, data)


def test_a_context_clause_first_does_not_veto_the_request() -> None:
    outcome = _plan(
        "My daughter broke her wrist at football, so book her the 3pm slot",
        {"patientId": "P-1", "slot": "2026-12-08T15:00"},
    )
    assert components(outcome) == ["appointment-booker"]
    assert outcome.provenance["context"] == ["My daughter broke her wrist at football"]


def test_clauses_tell_requests_from_context() -> None:
    read = {c.text: c.request for c in clauses_of("The printer jammed again, so reset it")}
    assert read == {"The printer jammed again": False, "reset it": True}
    read = {c.text: c.request for c in clauses_of("Emma is leaving us in March, start her exit")}
    assert read == {"Emma is leaving us in March": False, "start her exit": True}
    (only,) = clauses_of("My kid's school is closed on the 9th so I need that day off")[1:]
    assert only.request  # "I need …" asks for something
    assert not clauses_of("Can you tell me the balance?")[0].question  # a polite request


def test_data_that_fits_one_service_exactly_is_evidence_for_it() -> None:
    outcome = _plan("A-77", {"appointmentId": "A-77", "newTime": "2026-12-09T10:00"}, "chat")
    assert components(outcome) == ["appointment-mover"]


def test_a_clear_winner_just_under_the_bar_is_planned_not_refused() -> None:
    outcome = _plan("gimme the wrist xray pic", {"scanId": "S-3"}, "chat")
    assert components(outcome) == ["scan-fetcher"]


def test_a_typo_and_a_compound_still_match() -> None:
    outcome = _plan("latest labb results for P-2", {"patientId": "P-2"})
    assert components(outcome) == ["lab-results"]


def test_a_question_gets_no_extra_writer_step() -> None:
    outcome = _plan("What insurer is P-4 with?", {"patientId": "P-4"})
    assert components(outcome) == ["patient-record"]


def test_a_chain_is_planned_when_the_answering_service_needs_a_producer() -> None:
    outcome = _plan("What's on scan S-9?", {"scanId": "S-9"})
    assert components(outcome) == ["scan-fetcher", "scan-reader"]


def test_the_request_not_the_context_picks_the_sense() -> None:
    outcome = _plan(
        "My lab results are fine, it's the appointment with Dr Ng I can't make, move it",
        {"appointmentId": "A-5", "newTime": "2026-12-10T09:00"},
    )
    assert components(outcome) == ["appointment-mover"]


def test_a_request_nothing_serves_is_refused_with_the_closest_service() -> None:
    outcome = _plan("Order a taxi home for after the appointment", {})
    assert outcome.plan is None
    assert "closest: appointment-" in outcome.reason


def test_an_act_no_service_does_is_refused_even_when_the_data_fits_one() -> None:
    """The data fits the scan download exactly, but the request asks to pay: a rescue reads a
    vague request ("P-4?"), not a different one; the refusal says which act was missing."""
    outcome = _plan("Pay the taxi fare for S-3's visit", {"scanId": "S-3"})
    assert outcome.plan is None
    assert "'pay'" in outcome.reason
    # the same data with a vague request is still planned
    assert components(_plan("S-3?", {"scanId": "S-3"}, "chat")) == ["scan-fetcher"]
    # a verb that says little ("run") leaves the act to its object
    assert components(_plan("Run the lab results for P-4", {"patientId": "P-4"})) == ["lab-results"]


def test_a_request_whose_act_no_service_does_is_refused_though_its_nouns_match() -> None:
    """Asking to "delete P-1's patient record" names the record lookup and sends its input,
    but nothing in the catalog deletes anything; the refusal says so."""
    outcome = _plan("Delete P-1's patient record", {"patientId": "P-1"})
    assert outcome.plan is None
    assert "closest: patient-record" in outcome.reason
    assert "'delete'" in outcome.reason


def test_a_clause_that_asks_for_nothing_adds_no_step() -> None:
    """ "just checking, don't email anyone" names the reminder sender only to rule it out."""
    outcome = _plan(
        "which insurer is P-4 with? just checking, dont email anyone", {"patientId": "P-4"}
    )
    assert components(outcome) == ["patient-record"]
    read = {c.text: c.fine for c in clauses_of("is A-7 on? not moving it")}
    assert read == {"is A-7 on?": False, "not moving it": True}
    # a part that only points at a record is no clause of its own
    assert [c.text for c in clauses_of("How much is my bill? account 6610093381")] == [
        "How much is my bill?"
    ]


def test_a_wish_for_something_no_service_names_is_refused_not_planned_on_the_situation() -> None:
    """ "… I want compensation": a sentence of its own asks for a thing no service names; the
    situation before it is no request, though its words match a service."""
    outcome = _plan(
        "My lab results came back late and the scan was lost. I want compensation.",
        {"patientId": "P-2"},
    )
    assert outcome.plan is None
    assert "'compensation'" in outcome.reason
    read = [(c.text, c.request) for c in clauses_of("The scan is lost. I want compensation.")]
    assert read == [("The scan is lost.", False), ("I want compensation.", True)]
    # a full stop after an abbreviation ends no sentence
    assert len(clauses_of("Ask Dr. Patel for the scan")) == 1


def test_an_act_no_service_does_is_not_planned_on_the_situation_around_it() -> None:
    """ "Reset my portal password, I can't see my lab results": nothing resets anything, and
    the lab results are why the person asks, not what they ask for."""
    outcome = _plan("Reset my portal password, I can't see my lab results", {"patientId": "P-4"})
    assert outcome.plan is None
    assert "'reset'" in outcome.reason


OFFICE = _catalog(
    (
        "memo-sender",
        "Sends a memo to every member of a team.",
        {"teamId": "string", "memo": "string"},
        {"sent": "integer"},
    ),
    (
        "uptime-report",
        "Reports whether the intranet is up and its response time.",
        {},
        {"up": "boolean", "responseMs": "number"},
    ),
    (
        "invoice-copy",
        "Returns a supplier invoice as a PDF.",
        {"invoiceId": "string"},
        {"pdfUrl": "string"},
    ),
    (
        "invoice-reminder",
        "Emails a supplier a reminder that an invoice is overdue.",
        {"invoiceId": "string"},
        {"sent": "boolean"},
    ),
    (
        "supplier-lookup",
        "Returns a supplier's record by its id: name, address and contract id.",
        {"supplierId": "string"},
        {"supplier": "object", "contractId": "string"},
    ),
    (
        "supplier-contract",
        "Shows a supplier contract's terms: account manager, payment terms and renewal date.",
        {"contractId": "string"},
        {"contract": "object"},
    ),
    (
        "supplier-complaint",
        "Opens a complaint with a supplier's account manager about a late delivery.",
        {"supplierId": "string", "description": "string"},
        {"complaintId": "string"},
    ),
)


def test_a_real_word_is_not_read_as_a_misspelling_of_another() -> None:
    """ "spend" is a word of its own, one letter from "send"; "memmo" is a slip of "memo", and
    "responding" is of the family of "response"."""
    index = ServiceIndex(OFFICE)
    assert index.expand(terms("spend")) == terms("spend")
    assert index.expand(terms("memmo")) == terms("memo")
    assert index.expand(terms("responding")) == terms("response")


def test_send_me_asks_for_the_thing_not_for_a_sender() -> None:
    outcome = plan(OFFICE, "office", "send me invoice INV-7", {"invoiceId": "INV-7"})
    assert components(outcome) == ["invoice-copy"]


def test_what_a_reporting_service_describes_answers_a_question() -> None:
    """ "Shows a supplier contract's terms: account manager, …" answers "who's the account
    manager?", though no output field is called so and a complaint is opened with one."""
    content = "who's the account manager for supplier S-9?"
    outcome = plan(OFFICE, "office", content, {"supplierId": "S-9"})
    assert components(outcome) == ["supplier-lookup", "supplier-contract"]


FLEET = _catalog(
    (
        "shipment-trace",
        "Traces a shipment to the truck that carried it, its driver and its depot.",
        {"shipmentId": "string"},
        {"truckId": "string", "driverId": "string"},
    ),
    (
        "truck-status",
        "Returns a truck's current location, fuel level and last service date.",
        {"truckId": "string"},
        {"location": "string", "fuel": "number"},
    ),
    (
        "driver-message",
        "Sends a driver a text message.",
        {"driverId": "string", "message": "string"},
        {"sent": "boolean"},
    ),
)


def test_a_thing_named_through_another_record_is_what_is_asked_about() -> None:
    """ "Check the truck that carried SH-4": the truck is asked about; the shipment only says
    which truck, so the trace is the helper and the truck's status the goal."""
    content = "Check the truck that carried shipment SH-4"
    outcome = plan(FLEET, "fleet", content, {"shipmentId": "SH-4"})
    assert components(outcome) == ["shipment-trace", "truck-status"]
    # "a notice that the rent goes up" is what the notice says, not a pointer
    assert pointer("Send T-3 a notice that the rent goes up") == ""
    assert pointer(content) == "that carried shipment SH-4"


def test_an_act_on_a_thing_no_service_names_is_refused() -> None:
    """ "send a radiographer": reminders are sent here, radiographers are not; an id or a
    person ("page whoever is on call") is not the thing asked for."""
    outcome = _plan("My scan looks blurry, send a radiographer", {"patientId": "P-4"})
    assert outcome.plan is None
    assert "'radiographer'" in outcome.reason
    assert components(_plan("Download scan S-3", {"scanId": "S-3"})) == ["scan-fetcher"]


def test_the_act_of_get_it_done_and_of_a_misspelt_verb_is_read() -> None:
    """ "get INV-7 cancelled" asks to cancel, "cancle" is "cancel", and "lower" is an act: none
    of them is done here, so none is planned as the invoice copy its nouns name."""
    for content in (
        "Can you get invoice INV-7 cancelled?",
        "cancle invoice INV-7",
        "lower invoice INV-7 by 10%",
    ):
        outcome = plan(OFFICE, "office", content, {"invoiceId": "INV-7"})
        assert outcome.plan is None, content
        assert "no service here does" in outcome.reason, content


def test_the_text_after_a_colon_is_handed_on_not_read_as_requests() -> None:
    """ "Describe this scan: the left lung, no fracture, recommend a review" has one request;
    the text after the colon is what is described, and it only tells the sense."""
    read = clauses_of("Describe the findings for me: left lung clear, recommend a review")
    assert [(c.text, c.request) for c in read] == [
        ("Describe the findings for me", True),
        ("left lung clear, recommend a review", False),
    ]
    # a short label before a colon is no request of its own
    assert [c.text for c in clauses_of("Quick one: is P-4 in?")] == ["Quick one: is P-4 in?"]


def test_a_verb_of_two_words_means_one_and_agreeing_asks_for_nothing() -> None:
    """ "send these shoes back" is "return these shoes"; "Friday works for us" and "rather than
    cancel it" add no goal of their own."""
    assert terms("send these shoes back") == terms("return these shoes")
    assert terms("call the visit off") == terms("cancel the visit")
    read = {c.text: c.fine for c in clauses_of("book Friday 10:00, that works for us")}
    assert read == {"book Friday 10:00": False, "that works for us": True}
    read = {c.text: c.fine for c in clauses_of("move it to May rather than cancel it")}
    assert read == {"move it to May": False, "rather than cancel it": True}


def test_what_is_said_sent_or_hurried_is_not_a_thing_asked_for() -> None:
    """ "Send D-7 a note: …" sends a message, whatever it is called; "send D-7 word that …"
    too; "straight away" says how soon, not what."""
    for content in ("Send D-7 a note: the depot is shut today", "send D-7 word that it is shut"):
        outcome = plan(FLEET, "fleet", content, {"driverId": "D-7"})
        assert components(outcome) == ["driver-message"], content
    outcome = plan(FLEET, "fleet", "send D-7 the news straight away", {"driverId": "D-7"})
    assert outcome.plan is None and "'news'" in outcome.reason
    assert "'straight'" not in outcome.reason


def test_a_colon_hands_text_on_only_after_a_verb_that_hands_it_on() -> None:
    """ "40 Station Road: book …" is an address, then the request; "… and email the
    importer: <text>" hands the text on."""
    read = clauses_of("40 Station Road: book the fridge pick-up")
    assert [c.text for c in read if c.request] == ["40 Station Road: book the fridge pick-up"]
    read = clauses_of("see what is missing, and email the importer: docs by Wednesday, please")
    assert [(c.text, c.request) for c in read][-1] == ("docs by Wednesday, please", False)
    assert terms("let P-4's daughter know") == terms("message P-4's daughter")
    assert terms("reserve two seats") == terms("hold two seats")


def test_a_reason_opened_by_since_is_context() -> None:
    """ "Since the scan was lost, rewrite P-4's record": the reason is context, not a request
    for the scan, and nothing here rewrites anything."""
    read = {c.text: c.request for c in clauses_of("Since the scan was lost, book P-4 again")}
    assert read == {"Since the scan was lost": False, "book P-4 again": True}
    outcome = _plan("Since the scan was lost, rewrite P-4's record", {"patientId": "P-4"})
    assert outcome.plan is None and "'rewrite'" in outcome.reason


def test_a_message_is_asked_for_in_many_words_and_its_text_is_not_the_request() -> None:
    """ "give them a heads-up", "drop her a line", "tell D-7 …" ask for a message; what it
    says ("that the depot is shut") tells nothing of which service sends it."""
    assert terms("give D-7 a heads-up") == terms("drop D-7 a line") == terms("message D-7")
    assert terms("tell D-7") == terms("message D-7") and terms("tell me") == []
    # a description that tells something reports it: "Tells whether a plan covers a drug"
    assert "send" not in terms("Tells whether a plan covers it") + terms("tell whether it is")
    for content in ("give D-7 a heads-up that the truck is in for service", "tell D-7 it's off"):
        outcome = plan(FLEET, "fleet", content, {"driverId": "D-7"})
        assert components(outcome) == ["driver-message"], content


# Round 6: over-planning and chains (docs/planner.md, "Sixth round").

LOCKERS = _catalog(
    (
        "tenancy-lookup",
        "Who rents a storage unit, since when, and what they owe in rent.",
        {"unitId": "string"},
        {"customerId": "string", "arrears": "number"},
    ),
    (
        "padlock-removal",
        "Books the removal of a tenant's padlock from a unit when the key is lost.",
        {"unitId": "string", "reason": "string"},
        {"jobId": "string"},
    ),
    (
        "customer-text",
        "Texts a customer.",
        {"customerId": "string", "message": "string"},
        {"sent": "boolean"},
    ),
    (
        "parcel-tracking",
        "Where a parcel held for a tenant is and when it came in.",
        {"trackingNumber": "string"},
        {"location": "string", "arrivedAt": "string"},
    ),
    (
        "parcel-sms",
        "Sends a parcel-arrival SMS to a phone number.",
        {"phoneNumber": "string", "message": "string"},
        {"sent": "boolean"},
    ),
    (
        "order-status",
        "Shows an order's status for the packing shop: paid, packed or collected.",
        {"orderId": "string"},
        {"status": "string"},
    ),
    (
        "monthly-statement",
        "A customer's statement of charges for a month.",
        {"customerId": "string", "month": "string"},
        {"total": "number"},
    ),
    (
        "unit-card",
        "The card we keep on a unit: size, gate, the tenant and their key holder.",
        {"unitId": "string"},
        {"size": "string", "keyHolder": "string", "customerId": "string"},
    ),
    (
        "application-file",
        "Files a tenancy application for a customer at a store.",
        {"customerId": "string", "storeId": "string"},
        {"applicationId": "string"},
    ),
    (
        "repair-request",
        "Raises a repair request for a unit's door or lock.",
        {"unitId": "string", "description": "string"},
        {"requestId": "string"},
    ),
)


def _lockers(content: str, data: dict[str, Any], action: str = "question"):
    return plan(LOCKERS, action, content, data)


def test_who_asks_and_what_might_be_done_later_ask_for_nothing() -> None:
    """ "client's asking", "she's emailed to ask" say who asks; "might have to …", "I'll ring
    them myself" what may be done later; "the customer wants to …" beside a question is the
    situation. None adds a step; what a report of asking goes on to ask is the question."""
    read = clauses_of("what's the balance on C-4? client's asking")
    assert [(c.request, c.fine) for c in read] == [(True, False), (False, True)]
    read = clauses_of("customer C-9 emailed asking when it expires")
    assert [(c.text, c.question) for c in read] == [("when it expires", True)]
    for later in ("might have to call the courier if it's late", "I'll ring them myself"):
        assert not clauses_of(f"where is 88123? {later}")[-1].request, later
    read = clauses_of("where is 88123? the customer wants to collect it")
    assert [c.request for c in read] == [True, False]
    assert clauses_of("C-4 wants a refund")[0].request  # alone, their wish is the request
    outcome = _lockers(
        "how much does the tenant in U-7 owe? she's emailed to ask", {"unitId": "U-7"}
    )
    assert components(outcome) == ["tenancy-lookup"]


def test_a_question_plans_no_service_that_acts_unless_it_names_the_act_or_tells_the_answer() -> (
    None
):
    """ "how much does the tenant in U-7 owe?" shares "tenant" with the padlock removal, which
    acts; the lookup reports. "Shows …" reports though its word reads as "get", like "opens"."""
    outcome = _lockers("how much does the tenant in U-7 owe us?", {"unitId": "U-7"})
    assert components(outcome) == ["tenancy-lookup"]
    shows, books = LOCKERS[5], LOCKERS[1]
    assert not acts(shows) and acts(books)


def test_the_record_the_data_names_answers_a_question_nothing_else_answers() -> None:
    """ "has 88123 come in yet?" names no word of the tracking's; the data names the parcel, and
    the service that reports on it answers. A name is no slip of spelling ("Monty" is not
    "month"), and the broadest record answers a vague question about its id."""
    outcome = _lockers("has 88123 arrived yet?", {"trackingNumber": "88123"})
    assert components(outcome) == ["parcel-tracking"]
    outcome = _lockers("whose is U-2 these days?", {"unitId": "U-2"})
    assert components(outcome) == ["unit-card"]
    action = {"type": "question", "content": "who looks after Monty these days?"}
    request = PlanningRequest(action=action, data={}, services=LOCKERS)
    assert "month" not in Reading.of(request, ServiceIndex(LOCKERS)).everything


def test_an_act_is_one_a_service_does_not_a_noun_it_shares() -> None:
    """ "order a padlock for U-7" asks to order: the packing shop's "order" is a thing it
    reports on, so nothing here orders. Every way of sending a message is one act."""
    outcome = _lockers("order a padlock for U-7", {"unitId": "U-7", "orderId": "O-1"}, "request")
    assert outcome.plan is None and "does 'order'" in outcome.reason
    index = ServiceIndex(LOCKERS)
    assert all(index.does(terms(verb)[0]) for verb in ("text", "email", "send", "notify"))
    assert not index.does("order") and index.known("order")


def test_a_generic_action_type_is_no_label_and_a_vague_request_follows_its_data() -> None:
    """The type "request" says only that something is asked: it does not match the repair
    *request*; "go ahead" with what a filing takes is the filing."""
    data = {"customerId": "C-1", "storeId": "ST-2"}
    assert components(_lockers("go ahead", data, "request")) == ["application-file"]
    index = ServiceIndex(LOCKERS)
    for generic, label in (("request", []), ("question", []), ("refund", terms("refund"))):
        action = {"type": generic, "content": "go ahead"}
        request = PlanningRequest(action=action, data={}, services=LOCKERS)
        assert Reading.of(request, index).label == label, generic


def test_the_addressee_is_who_not_what_and_the_message_is_not_the_request() -> None:
    """ "message whoever's teaching it that …": whoever is no thing asked for; "ask her for
    them" neither; what a heads-up or "let them know" says is the message."""
    assert asked_thing("message whoever's teaching it that he is late") == []
    assert asked_thing("ask her for them") == []
    assert told("give her a heads-up she's nervous") == "give her a heads-up "
    assert told("let them know someone will be there by 4") == "let them know "


def test_polite_asks_one_act_in_two_verbs_and_a_narrowed_answer() -> None:
    """ "can someone lock U-5?" asks for work; "go and do" is one act; "Only the number
    please" after a question asks for nothing more; "how do I …" asks for help."""
    assert not clauses_of("can someone lock U-5 for me?")[0].question
    assert [c.text for c in clauses_of("go and check U-5")] == ["go and check U-5"]
    read = clauses_of("How many parcels came for U-5? Only the number please.")
    assert [c.request for c in read] == [True, False]
    assert "help" in clauses_of("How do I reset my gate PIN?")[0].implied


# Round 7 (after set 10 was scored): messages to people named in other words.


def test_whom_a_message_goes_to_and_what_it_says_are_not_requests() -> None:
    """ "Message R-9, who first ringed SX-4, that it's back": an order with an id is a clause,
    the relative part says who R-9 is, the "that" part what to say. "let whoever first ringed
    AJ-66 know" asks for a message; "tell CU-3 their order has shipped" says what to tell."""
    read = clauses_of("Message R-9, who first ringed SX-4, that it's turned up in Morocco")
    assert [(c.text, c.request, c.fine) for c in read] == [
        ("Message R-9", True, False),
        ("who first ringed SX-4", False, True),
        ("that it's turned up in Morocco", False, True),
    ]
    assert terms("let whoever first ringed AJ-66 know") == terms(
        "message whoever first ringed AJ-66"
    )
    assert told("Tell CU-3 their order has shipped") == "Tell CU-3 "
    assert told("tell me what his insurance will pay") == "tell me what his insurance will pay"


def test_when_a_request_is_to_be_done_is_context() -> None:
    """ "before we drill it", "until someone's looked at it", "when the van gets in": the time
    of the request, not a request of its own."""
    read = clauses_of("Scan the face on bench 2 before we drill it")
    assert [(c.text, c.request) for c in read] == [
        ("Scan the face on bench 2", True),
        ("before we drill it", False),
    ]
    read = clauses_of("when the van gets in, text me")
    assert [c.request for c in read] == [False, True]
    assert clauses_of("When does the van get in?")[0].request


def test_statements_reasons_and_names_are_read_as_such() -> None:
    """ "Customer's here to collect" and ", Kingsbridge's secretary," state, they ask nothing;
    what "and" adds to a reason is the reason; "drop a line to whoever …: <text>" hands the
    text on; a name in the object ("into Kettle Lane") is not the thing asked for."""
    read = clauses_of("Customer's here to collect on P-6 - settle it up")
    assert [c.request for c in read] == [False, True]
    read = clauses_of("Email M-614, Kingsbridge's secretary, that the insurance has lapsed")
    assert [c.request for c in read] == [True, False, False]
    read = clauses_of("With the warning out and two depots low, what's the risk on R5?")
    assert [c.request for c in read] == [False, False, True]
    read = clauses_of("drop a line to whoever drives 2J07: the tower is out of use")
    assert read[-1] == Clause("the tower is out of use", request=False, question=False)
    assert asked_thing("order 100 t into Kettle Lane") == []


def test_an_id_a_service_returns_answers_no_question_about_the_record() -> None:
    """ "where's the bag for find 4 kept?": the register returns a findId, which tells nothing
    of where the bag is; the details that say where it is kept answer."""
    finds = _catalog(
        (
            "find-details",
            "A find's record: its context, the store and box its bag is kept in.",
            {"findId": "string"},
            {"context": "string", "store": "string", "box": "string"},
        ),
        (
            "finds-register",
            "Registers a new find from a context and returns its number.",
            {"context": "string", "description": "string"},
            {"findId": "string"},
        ),
    )
    index = ServiceIndex(finds)
    assert not index.answers(terms("find"), "finds-register")
    outcome = plan(finds, "question", "Where's the bag for find 0457 kept now?", {"findId": "0457"})
    assert components(outcome) == ["find-details"]
