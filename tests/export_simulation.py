"""A simulated 300-person pre/post evaluation with a comparison group, exported as each survey tool writes it.

SYNTHETIC: invented people (emails at example.org, IP addresses from the documentation ranges
192.0.2.0/24 and 198.51.100.0/24, names "Test Person <n>"), drawn from a seed. `simulate(seed)`
draws the people once; each function of EXPORTS writes the same people as one tool's export
(see evaluations/intake/exports/ for the documented format each follows): its header rows, its
metadata and identifier columns, answers in words or as numbers as that tool writes them, and
one form per wave where that tool's users would make one. So every tool's record must recover
the same true effect, and the same estimate.

Both groups start from the same distribution and drift alike (parallel trends); half the
participants move one answer towards "Definitely agree" at follow-up. The true effect is that
shift averaged over participants, known exactly for the sample, on the pipeline's scale
(higher = better, so towards agreeing). Belonging has no effect.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import numpy as np
import openpyxl

from evaluations.measures import load_measures

PEOPLE = 300
COHESION = ("To what extent do you agree or disagree that your local area is a place where people from "
            "different backgrounds get on well together?")
BELONGING = "How strongly do you feel you belong to your immediate neighbourhood?"
CODE = "What is the participant code on your Common Ground card?"
WHICH = "Which survey is this?"
TOOK_PART = "Did you take part in the Common Ground exchange?"
WAVES = ("before", "after")
WAVE_WORDS = {"before": "Before the exchange", "after": "After the exchange"}
START = {"before": datetime(2024, 3, 4, 9), "after": datetime(2024, 7, 1, 9)}


@dataclass(frozen=True)
class Sample:
    took_part: np.ndarray  # 1 took part, 0 comparison, per person
    cohesion: dict[str, np.ndarray]  # wave -> the bank's code (1 = Definitely agree), per person
    belonging: dict[str, np.ndarray]
    started: dict[str, list[datetime]]  # wave -> when each person began the form
    seconds: dict[str, np.ndarray]  # wave -> how long each took
    truth: float  # the true effect on cohesion, oriented higher = better

    def code(self, i: int) -> str:
        return f"CG-{i:03d}"

    def order(self, wave: str) -> list[int]:
        """People in the order their answers arrived (as every tool lists them)."""
        return sorted(range(PEOPLE), key=lambda i: self.started[wave][i])


def simulate(seed: int) -> Sample:
    rng = np.random.default_rng(seed)
    took_part = rng.permutation(np.repeat([1, 0], PEOPLE // 2))
    y0 = rng.choice([1, 2, 3, 4], PEOPLE, p=[0.15, 0.35, 0.3, 0.2])  # 1 = Definitely agree
    untreated = np.clip(y0 + rng.choice([-1, 0, 1], PEOPLE), 1, 4)  # follow-up without the programme
    shifted = (took_part == 1) & (rng.random(PEOPLE) < 0.5) & (untreated > 1)
    y1 = untreated - shifted
    truth = float(shifted[took_part == 1].mean())  # one answer towards agreeing = +1 on the oriented scale
    b0 = rng.choice([1, 2, 3, 4], PEOPLE)
    b1 = np.clip(b0 + rng.choice([-1, 0, 1], PEOPLE), 1, 4)
    started = {w: [START[w] + timedelta(minutes=int(m)) for m in rng.integers(0, 14 * 24 * 60, PEOPLE)]
               for w in WAVES}
    seconds = {w: rng.integers(90, 900, PEOPLE) for w in WAVES}
    return Sample(took_part, {"before": y0, "after": y1}, {"before": b0, "after": b1}, started, seconds, truth)


def _labels(measure: str) -> dict[int, str]:
    return {int(k): v for k, v in load_measures()[measure].scale.items()}


def _email(i: int) -> str:
    return f"test.person.{i}@example.org"


def _ip(i: int, wave: str) -> str:
    return f"{'192.0.2' if wave == 'before' else '198.51.100'}.{i % 250 + 1}"


def _csv(rows: list[list], encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(sheet: str, rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _words(s: Sample, i: int, wave: str) -> tuple[str, str]:
    return _labels("local_area_cohesion")[int(s.cohesion[wave][i])], \
        _labels("belonging_neighbourhood")[int(s.belonging[wave][i])]


# ------------------------------------------------------------------------------ the tools

def google_forms_csv(s: Sample) -> dict[str, bytes]:
    """One form per wave, each downloaded from Responses as CSV ("<form title>.csv"): Timestamp,
    Email address (the form collects emails), then the questions' text; answers in words."""
    files = {}
    for wave in WAVES:
        rows = [["Timestamp", "Email address", CODE, TOOK_PART, COHESION, BELONGING]]
        for i in s.order(wave):
            rows.append([s.started[wave][i].strftime("%Y/%m/%d %-I:%M:%S %p") + " GMT", _email(i), s.code(i),
                         "Yes" if s.took_part[i] else "No", *_words(s, i, wave)])
        files[f"Neighbours survey - {wave} the exchange.csv"] = _csv(rows)
    return files


def google_sheets_xlsx(s: Sample) -> dict[str, bytes]:
    """One form for both waves (a question says which), its linked Sheet downloaded as .xlsx: the
    timestamps are dates, the sheet is "Form responses 1"."""
    rows = [["Timestamp", "Email address", CODE, WHICH, TOOK_PART, COHESION, BELONGING]]
    for wave in WAVES:
        for i in s.order(wave):
            rows.append([s.started[wave][i], _email(i), s.code(i), WAVE_WORDS[wave], "Yes" if s.took_part[i] else "No",
                         *_words(s, i, wave)])
    return {"Neighbours survey (Responses).xlsx": _xlsx("Form responses 1", rows)}


def microsoft_forms_xlsx(s: Sample) -> dict[str, bytes]:
    """One form per wave, each "Open results in Excel" (named "<form title>(1-300).xlsx"): ID, Start
    time, Completion time, Email, Name ("anonymous" and empty unless the person signed in), Last
    modified time, then the questions' text; answers in words."""
    files = {}
    for wave in WAVES:
        rows = [["ID", "Start time", "Completion time", "Email", "Name", "Last modified time", CODE, TOOK_PART,
                 COHESION, BELONGING]]
        for n, i in enumerate(s.order(wave), start=1):
            signed_in = i % 3 == 0
            start = s.started[wave][i]
            rows.append([n, start, start + timedelta(seconds=int(s.seconds[wave][i])),
                         _email(i) if signed_in else "anonymous", f"Test Person {i}" if signed_in else None, None,
                         s.code(i), "Yes" if s.took_part[i] else "No", *_words(s, i, wave)])
        files[f"Neighbours survey {wave} the exchange(1-{PEOPLE}).xlsx"] = _xlsx("Sheet1", rows)
    return files


def surveymonkey_csv(s: Sample) -> dict[str, bytes]:
    """The survey copied for the follow-up, each exported as "All responses data", CSV, expanded: two
    header rows (question text over "Response" or "Open-Ended Response"), respondent metadata with IP
    address, email, first and last name (filled in by the email collector), and a comments box."""
    meta = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name",
            "Last Name", "Custom Data 1"]
    comments = "Is there anything else you would like to tell us?"
    files = {}
    for w, wave in enumerate(WAVES):
        rows = [meta + [CODE, TOOK_PART, COHESION, BELONGING, comments],
                [""] * len(meta) + ["Open-Ended Response", "Response", "Response", "Response", "Open-Ended Response"]]
        for i in s.order(wave):
            emailed = i % 2 == 0  # the email collector records who answered; the web link does not
            start = s.started[wave][i]
            end = start + timedelta(seconds=int(s.seconds[wave][i]))
            rows.append([str(11_400_000_000 + 1000 * w + i), "405112233" if emailed else "405112290",
                         start.strftime("%m/%d/%Y %I:%M:%S %p"), end.strftime("%m/%d/%Y %I:%M:%S %p"), _ip(i, wave),
                         _email(i) if emailed else "", "Test" if emailed else "", f"Person {i}" if emailed else "", "",
                         s.code(i), "Yes" if s.took_part[i] else "No", *_words(s, i, wave),
                         _comment(i)])
        files[f"Neighbours survey {wave} the exchange.csv"] = _csv(rows)
    return files


def _comment(i: int) -> str:
    """What a few people type in a comments box: mostly a sentence or two, now and then a word."""
    if i % 7 == 0:
        return (f"Meeting the visitors from the other town was the best part, thank you to test person {i}",
                "I would like more events like this one in our street next year please")[i % 2]
    return "Thanks!" if i % 23 == 0 else ""


QUALTRICS_META = [  # column name, question text, ImportId
    ("StartDate", "Start Date", {"ImportId": "startDate", "timeZone": "Europe/London"}),
    ("EndDate", "End Date", {"ImportId": "endDate", "timeZone": "Europe/London"}),
    ("Status", "Response Type", {"ImportId": "status"}),
    ("IPAddress", "IP Address", {"ImportId": "ipAddress"}),
    ("Progress", "Progress", {"ImportId": "progress"}),
    ("Duration (in seconds)", "Duration (in seconds)", {"ImportId": "duration"}),
    ("Finished", "Finished", {"ImportId": "finished"}),
    ("RecordedDate", "Recorded Date", {"ImportId": "recordedDate", "timeZone": "Europe/London"}),
    ("ResponseId", "Response ID", {"ImportId": "_recordId"}),
    ("RecipientLastName", "Recipient Last Name", {"ImportId": "recipientLastName"}),
    ("RecipientFirstName", "Recipient First Name", {"ImportId": "recipientFirstName"}),
    ("RecipientEmail", "Recipient Email", {"ImportId": "recipientEmail"}),
    ("ExternalReference", "External Data Reference", {"ImportId": "externalDataReference"}),
    ("LocationLatitude", "Location Latitude", {"ImportId": "locationLatitude"}),
    ("LocationLongitude", "Location Longitude", {"ImportId": "locationLongitude"}),
    ("DistributionChannel", "Distribution Channel", {"ImportId": "distributionChannel"}),
    ("UserLanguage", "User Language", {"ImportId": "userLanguage"}),
]
QUALTRICS_QUESTIONS = [
    ("Q1", COHESION, {"ImportId": "QID1"}),
    ("Q2", BELONGING, {"ImportId": "QID2"}),
    ("wave", "wave", {"ImportId": "wave"}),  # embedded data, set by each wave's distribution link
    ("group", "group", {"ImportId": "group"}),  # embedded data, from the contact list
]


def _qualtrics(s: Sample, numeric: bool) -> bytes:
    columns = QUALTRICS_META + QUALTRICS_QUESTIONS
    rows = [[c[0] for c in columns], [c[1] for c in columns],
            [json.dumps(c[2], separators=(",", ":")) for c in columns]]
    for wave in WAVES:
        for i in s.order(wave):
            start = s.started[wave][i]
            end = start + timedelta(seconds=int(s.seconds[wave][i]))
            stamp = "%Y-%m-%d %H:%M:%S"
            answers = [str(s.cohesion[wave][i]), str(s.belonging[wave][i])] if numeric else list(_words(s, i, wave))
            rows.append([start.strftime(stamp), end.strftime(stamp), "0" if numeric else "IP Address", _ip(i, wave),
                         "100", str(int(s.seconds[wave][i])), "1" if numeric else "True", end.strftime(stamp),
                         f"R_{wave[0]}{i:03d}Xq7LmN2pQr", f"Person {i}", "Test", _email(i), s.code(i),
                         f"{51.45 + i / 10_000:.4f}", f"{-0.15 + i / 10_000:.4f}", "email", "EN-GB", *answers,
                         "pre" if wave == "before" else "post", "programme" if s.took_part[i] else "comparison"])
    return _csv(rows, encoding="utf-8-sig")


def qualtrics_labels_csv(s: Sample) -> dict[str, bytes]:
    """One survey sent to a contact list twice (the participant code as External Data Reference, the
    group from the contact list and the wave from the distribution as embedded data), downloaded as
    CSV with choice text: three header rows, the recipient's name and email, IP address and location."""
    return {"Neighbours_survey_March+2024_labels.csv": _qualtrics(s, numeric=False)}


def qualtrics_numeric_csv(s: Sample) -> dict[str, bytes]:
    """The same download with "Use numeric values": each choice's recode value (1 = Definitely agree,
    the choices in the bank's order)."""
    return {"Neighbours_survey_March+2024_values.csv": _qualtrics(s, numeric=True)}


KOBO_SUBMISSION = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
                   "__version__", "_tags", "_index"]
BELONGING_NAMES = {1: "very_strongly", 2: "fairly_strongly", 3: "not_very_strongly", 4: "not_at_all_strongly"}


def kobo_xlsx(s: Sample) -> dict[str, bytes]:
    """One form for both waves, exported as XLS with "XML values and headers", groups in headers joined
    by "/": the choices' names as written in the XLSForm (cohesion coded 1-4, belonging by words
    joined with "_", took part yes/no), metadata questions first, submission columns last."""
    header = ["start", "end", "today", "deviceid", "intro/participant_code", "intro/survey_round", "intro/took_part",
              "local_area/cohesion", "local_area/belonging", *KOBO_SUBMISSION]
    rows, index = [header], 0
    for wave in WAVES:
        for i in s.order(wave):
            index += 1
            start = s.started[wave][i]
            end = start + timedelta(seconds=int(s.seconds[wave][i]))
            stamp = "%Y-%m-%dT%H:%M:%S.000+01:00"
            rows.append([start.strftime(stamp), end.strftime(stamp), start.strftime("%Y-%m-%d"),
                         f"ee.kobotoolbox.org:{1000 + i % 5}", s.code(i), "baseline" if wave == "before" else "endline",
                         "yes" if s.took_part[i] else "no", int(s.cohesion[wave][i]),
                         BELONGING_NAMES[int(s.belonging[wave][i])], 300_000_000 + index,
                         f"{index:08x}-7c1e-4b7a-9d2e-{i:012x}", end.strftime("%Y-%m-%dT%H:%M:%S"), "", "",
                         "submitted_via_web", f"test_enumerator_{i % 3 + 1}", "vFakeVersion2024", "", index])
    return {"Neighbours_survey_-_all_versions_-_False_-_2024-07-20-09-00-00.xlsx": _xlsx("Neighbours survey", rows)}


def odk_central_csv(s: Sample) -> dict[str, bytes]:
    """One form per wave on ODK Central, each downloaded as CSV: SubmissionDate, the questions by group
    path joined by "-", a geopoint's four columns, meta-instanceID, then KEY, SubmitterID,
    SubmitterName and the review columns; choice names as answers (cohesion coded 1-4, yes/no)."""
    header = ["SubmissionDate", "start", "end", "intro-participant_code", "intro-took_part", "questions-cohesion",
              "questions-belonging", "home-Latitude", "home-Longitude", "home-Altitude", "home-Accuracy",
              "meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
              "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]
    files = {}
    for wave in WAVES:
        rows = [header]
        for i in s.order(wave):
            start = s.started[wave][i]
            end = start + timedelta(seconds=int(s.seconds[wave][i]))
            uuid = f"uuid:{i:08x}-7c1e-4b7a-9d2e-{WAVES.index(wave):012x}"
            enumerator = 101 + i % 3
            rows.append([(end + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                         start.strftime("%Y-%m-%dT%H:%M:%S.000+01:00"), end.strftime("%Y-%m-%dT%H:%M:%S.000+01:00"),
                         s.code(i), "yes" if s.took_part[i] else "no", str(s.cohesion[wave][i]),
                         str(s.belonging[wave][i]), f"{51.45 + i / 10_000:.6f}", f"{-0.15 + i / 10_000:.6f}", "20.0",
                         "5.0", uuid, uuid, str(enumerator), f"Test Person {enumerator}", "0", "0", "", "approved",
                         f"collect:FAKE{enumerator}", "0", "2024030401"])
        files[f"neighbours_{'baseline' if wave == 'before' else 'followup'}.csv"] = _csv(rows)
    return files


EXPORTS: dict[str, Callable[[Sample], dict[str, bytes]]] = {
    "google_forms_csv": google_forms_csv, "google_sheets_xlsx": google_sheets_xlsx,
    "microsoft_forms_xlsx": microsoft_forms_xlsx, "surveymonkey_csv": surveymonkey_csv,
    "qualtrics_labels_csv": qualtrics_labels_csv, "qualtrics_numeric_csv": qualtrics_numeric_csv,
    "kobo_xlsx": kobo_xlsx, "odk_central_csv": odk_central_csv,
}
