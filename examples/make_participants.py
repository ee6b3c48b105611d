"""Generate the SYNTHETIC participant dataset of NCT04382547, as SDTM domains and as fhirconv's simple CSV.

Nothing here is real patient data: every value is drawn from a seeded random generator (fixed seed, standard
library only), shaped after the trial's registry record (32 adults aged 18-70 with PCR-confirmed COVID-19
pneumonia and respiratory failure, two non-randomised arms, blood counts and liver tests at baseline, day 7
and day 21, SARS-CoV-2 PCR and chest CT at day 21, SpO2, adverse events). Both layouts carry the same data,
so they convert to the same FHIR.

    python examples/make_participants.py [OUTPUT_DIR]   (default: examples/NCT04382547/participants)

Writes OUTPUT_DIR/sdtm/{dm,ds,lb,vs,mb,re,ae}.csv and OUTPUT_DIR/simple/{participants,observations,
adverse_events}.csv. Chest CT findings go to the SDTM RE domain (Respiratory System Findings, SDTMIG 3.3),
where morphology findings of the lungs belong since MO was deprecated; see the folder's README.md.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

SEED = 4382547
STUDYID = "IBCE_MSC2(Covid)"  # the sponsor's own study id in the registry record
N_SUBJECTS = 32
ARMS = (("MSC", "mesenchymal stem cells"), ("CTRL", "control"))  # the registry's arm labels
VISITS = ((1, "BASELINE", 1), (2, "DAY 7", 7), (3, "DAY 21", 21))  # VISITNUM, VISIT, study day

# LBTESTCD, LBTEST, LBCAT, LBSPEC, SI unit (CDISC UNIT terms), normal range, decimals, COVID-19 baseline
# mean and sd, change per week (mean) in the control arm and in the MSC arm.
LAB_TESTS = (
    ("WBC", "Leukocytes", "HEMATOLOGY", "BLOOD", "10^9/L", (4.0, 9.0), 1, (7.5, 3.0), (-0.3, -0.6)),
    ("LYM", "Lymphocytes", "HEMATOLOGY", "BLOOD", "10^9/L", (1.2, 3.0), 2, (0.8, 0.3), (0.15, 0.3)),
    ("NEUT", "Neutrophils", "HEMATOLOGY", "BLOOD", "10^9/L", (1.8, 6.5), 2, (5.8, 2.4), (-0.4, -0.8)),
    ("PLAT", "Platelets", "HEMATOLOGY", "BLOOD", "10^9/L", (150.0, 400.0), 0, (190.0, 60.0), (15.0, 20.0)),
    ("HGB", "Hemoglobin", "HEMATOLOGY", "BLOOD", "g/L", (120.0, 160.0), 0, (128.0, 14.0), (-1.0, -1.0)),
    ("ALT", "Alanine Aminotransferase", "CHEMISTRY", "SERUM", "U/L", (7.0, 40.0), 0, (42.0, 18.0), (2.0, 1.0)),
    ("AST", "Aspartate Aminotransferase", "CHEMISTRY", "SERUM", "U/L", (10.0, 40.0), 0, (45.0, 17.0), (-2.0, -3.0)),
    ("BILI", "Bilirubin", "CHEMISTRY", "SERUM", "umol/L", (3.4, 20.5), 1, (12.0, 4.0), (-0.3, -0.5)),
)

# MedDRA preferred term, PT code, system organ class, SOC code, verbatim term, relatedness to MSC weight.
AE_TERMS = (
    ("Pyrexia", "10037660", "General disorders and administration site conditions", "10018065", "Fever after infusion"),
    ("Chills", "10008531", "General disorders and administration site conditions", "10018065", "Chills"),
    ("Headache", "10019211", "Nervous system disorders", "10029205", "Headache"),
    ("Alanine aminotransferase increased", "10001551", "Investigations", "10022891", "ALT elevation"),
    ("Aspartate aminotransferase increased", "10003481", "Investigations", "10022891", "AST elevation"),
    ("Lymphopenia", "10025327", "Blood and lymphatic system disorders", "10005329", "Lymphopenia"),
    ("Thrombocytopenia", "10043554", "Blood and lymphatic system disorders", "10005329", "Low platelets"),
    ("Anaemia", "10002034", "Blood and lymphatic system disorders", "10005329", "Anemia"),
)
INFUSION_RELATED = {"Pyrexia", "Chills", "Headache"}
SEVERITY = {1: "MILD", 2: "MODERATE", 3: "SEVERE", 4: "SEVERE", 5: "SEVERE"}
# Simple-CSV words for the SDTM terms (the inverse of the simplecsv-* ConceptMaps in mappings/conceptmaps/).
SIMPLE_REL = {
    "NOT RELATED": "not related",
    "UNLIKELY RELATED": "unlikely",
    "POSSIBLY RELATED": "possible",
    "PROBABLY RELATED": "probable",
    "RELATED": "related",
}
SIMPLE_OUT = {
    "RECOVERED/RESOLVED": "recovered",
    "RECOVERING/RESOLVING": "recovering",
    "NOT RECOVERED/NOT RESOLVED": "not recovered",
    "FATAL": "fatal",
}
SERIOUS_FLAGS = (  # SDTM flag variable, simple-CSV word; in the SDTM AE column order
    ("AESDTH", "death"),
    ("AESLIFE", "life-threatening"),
    ("AESHOSP", "hospitalization"),
    ("AESDISAB", "disability"),
    ("AESCONG", "congenital anomaly"),
    ("AESMIE", "medically important"),
)


@dataclass
class Subject:
    usubjid: str
    subjid: str
    arm_code: str
    arm: str
    sex: str
    age: int
    start: date
    end: date
    death: date | None = None
    findings: list[dict[str, str]] = field(default_factory=list)  # shared by both layouts
    events: list[dict[str, str]] = field(default_factory=list)


def fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def day(subject: Subject, study_day: int) -> date:
    return subject.start + timedelta(days=study_day - 1)


def make_subjects(rng: random.Random) -> list[Subject]:
    subjects = []
    for i in range(N_SUBJECTS):
        code, arm = ARMS[i % 2]  # non-randomised, alternating enrolment: 16 per arm
        start = date(2020, 5, 11) + timedelta(days=rng.randrange(0, 330))
        subjects.append(
            Subject(
                usubjid=f"MSC2-{i + 1:03d}",
                subjid=f"{i + 1:03d}",
                arm_code=code,
                arm=arm,
                sex=rng.choice("MF"),
                age=rng.randint(18, 70),
                start=start,
                end=start + timedelta(days=20),
            )
        )
    # One control participant dies of respiratory failure on day 12 (no further visits).
    dead = subjects[9]
    dead.death = day(dead, 12)
    dead.end = dead.death
    return subjects


def make_findings(rng: random.Random, s: Subject) -> None:
    msc = s.arm_code == "MSC"
    seq = 0
    for visitnum, visit, dy in VISITS:
        if s.death is not None and day(s, dy) > s.death:
            break
        for code, name, cat, spec, unit, (low, high), dec, (mean, sd), (ctrl, treated) in LAB_TESTS:
            weekly = treated if msc else ctrl
            value = max(rng.gauss(mean, sd) + weekly * (dy - 1) / 7 + rng.gauss(0, sd / 6), 10.0**-dec)
            text = fmt(value, dec)
            number = float(text)
            nrind = "LOW" if number < low else ("HIGH" if number > high else "NORMAL")
            seq += 1
            s.findings.append(
                {
                    "domain": "LB", "seq": str(seq), "testcd": code, "test": name, "cat": cat, "value": text,
                    "unit": unit, "low": fmt(low, dec), "high": fmt(high, dec), "nrind": nrind,
                    "spec": spec, "method": "", "visitnum": str(visitnum), "visit": visit, "dy": str(dy),
                    "dtc": day(s, dy).isoformat(), "blfl": "Y" if visitnum == 1 else "",
                }
            )  # fmt: skip
    for domain, testcd in (("VS", "OXYSAT"), ("MB", "SARSCOV2"), ("RE", "INTP")):
        seq = 0
        for visitnum, visit, dy in VISITS:
            if s.death is not None and day(s, dy) > s.death:
                break
            row = {
                "domain": domain, "testcd": testcd, "cat": "", "unit": "", "low": "", "high": "", "nrind": "",
                "spec": "", "method": "", "visitnum": str(visitnum), "visit": visit, "dy": str(dy),
                "dtc": day(s, dy).isoformat(), "blfl": "Y" if visitnum == 1 and domain == "VS" else "",
            }  # fmt: skip
            if domain == "VS":
                spo2 = min(99, round(rng.gauss(86, 3) + (dy - 1) * (0.45 if msc else 0.3)))
                row.update(test="Oxygen Saturation", value=str(spo2), unit="%")
            elif dy != 21:
                continue  # PCR and chest CT: the day-21 "cured" assessment only
            elif domain == "MB":
                negative = rng.random() < (0.8 if msc else 0.6)
                row.update(
                    test="SARS-CoV-2",
                    value="NEGATIVE" if negative else "POSITIVE",
                    spec="NASOPHARYNGEAL SWAB",
                    method="REVERSE TRANSCRIPTASE POLYMERASE CHAIN REACTION",
                )
            else:
                resolved = rng.random() < (0.7 if msc else 0.45)
                row.update(
                    test="Interpretation", cat="CHEST CT", value="NORMAL" if resolved else "ABNORMAL", method="CT SCAN"
                )
            seq += 1
            row["seq"] = str(seq)
            s.findings.append(row)


def make_events(rng: random.Random, s: Subject) -> None:
    msc = s.arm_code == "MSC"
    picks: list[tuple[int, tuple[str, str, str, str, str]]] = []
    for term in AE_TERMS:
        chance = 0.3 if (term[0] in INFUSION_RELATED and msc) else 0.12
        if rng.random() < chance:
            picks.append((rng.randint(1, 18), term))
    if s.death is not None:
        picks.append(
            (5, ("Respiratory failure", "10038695", "Respiratory, thoracic and mediastinal disorders", "10038738",
                 "Progressive respiratory failure"))
        )  # fmt: skip
    for seq, (start_day, (pt, ptcd, soc, soccd, verbatim)) in enumerate(sorted(picks), start=1):
        fatal = pt == "Respiratory failure"
        grade = 5 if fatal else rng.choice((1, 1, 1, 2, 2, 3))
        serious = fatal or grade >= 3
        if fatal:
            rel = "NOT RELATED"
        elif pt in INFUSION_RELATED and msc and start_day <= 3:
            rel = rng.choice(("POSSIBLY RELATED", "PROBABLY RELATED", "RELATED"))
        else:
            rel = rng.choice(("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED") if msc else ("NOT RELATED",))
        flags = {flag: "" for flag, _ in SERIOUS_FLAGS}
        if serious:
            flags = dict.fromkeys(flags, "N")
            flags["AESDTH" if fatal else "AESHOSP"] = "Y"
        start = day(s, start_day)
        if fatal:
            end, outcome = s.death, "FATAL"
        elif rng.random() < 0.85:
            end, outcome = start + timedelta(days=rng.randint(1, 6)), "RECOVERED/RESOLVED"
        else:
            end, outcome = None, "NOT RECOVERED/NOT RESOLVED"
        s.events.append(
            {
                "seq": str(seq), "term": verbatim, "pt": pt, "ptcd": ptcd, "soc": soc, "soccd": soccd,
                "start": start.isoformat(), "end": end.isoformat() if end else "", "ser": "Y" if serious else "N",
                **flags, "sev": SEVERITY[grade], "grade": str(grade), "rel": rel, "out": outcome,
            }
        )  # fmt: skip


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def write_sdtm(subjects: list[Subject], out: Path) -> None:
    dm = []
    ds = []
    for s in subjects:
        death = s.death.isoformat() if s.death else ""
        dm.append(
            [
                STUDYID, "DM", s.usubjid, s.subjid, s.start.isoformat(), s.end.isoformat(),
                (s.start - timedelta(days=1)).isoformat(), death, "Y" if s.death else "", "01", str(s.age),
                "YEARS", s.sex, "WHITE", "NOT HISPANIC OR LATINO", s.arm_code, s.arm, s.arm_code, s.arm, "BLR",
            ]
        )  # fmt: skip
        term = "DEATH" if s.death else "COMPLETED"
        ds.append([STUDYID, "DS", s.usubjid, "1", term, term, "DISPOSITION EVENT", s.end.isoformat()])
    write(
        out / "dm.csv",
        ["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFICDTC", "DTHDTC", "DTHFL", "SITEID",
         "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "ARMCD", "ARM", "ACTARMCD", "ACTARM", "COUNTRY"],
        dm,
    )  # fmt: skip
    write(out / "ds.csv", ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSTDTC"], ds)
    for domain in ("LB", "VS", "MB", "RE"):
        d = domain
        header = [
            "STUDYID", "DOMAIN", "USUBJID", f"{d}SEQ", f"{d}TESTCD", f"{d}TEST", f"{d}CAT", f"{d}ORRES",
            f"{d}ORRESU", f"{d}ORNRLO", f"{d}ORNRHI", f"{d}STRESC", f"{d}STRESN", f"{d}STRESU", f"{d}STNRLO",
            f"{d}STNRHI", f"{d}NRIND", f"{d}SPEC", f"{d}METHOD", f"{d}BLFL", "VISITNUM", "VISIT", f"{d}DTC",
            f"{d}DY",
        ]  # fmt: skip
        rows = []
        for s in subjects:
            for f in s.findings:
                if f["domain"] != d:
                    continue
                numeric = f["value"] if f["value"][:1].isdigit() else ""
                rows.append(
                    [
                        STUDYID, d, s.usubjid, f["seq"], f["testcd"], f["test"], f["cat"], f["value"], f["unit"],
                        f["low"], f["high"], f["value"], numeric, f["unit"], f["low"], f["high"], f["nrind"],
                        f["spec"], f["method"], f["blfl"], f["visitnum"], f["visit"], f["dtc"], f["dy"],
                    ]
                )  # fmt: skip
        write(out / f"{d.lower()}.csv", header, rows)
    ae = []
    for s in subjects:
        for e in s.events:
            ae.append(
                [
                    STUDYID, "AE", s.usubjid, e["seq"], e["term"], e["pt"], e["ptcd"], e["soc"], e["soccd"],
                    e["start"], e["end"], e["ser"], *(e[flag] for flag, _ in SERIOUS_FLAGS), e["sev"],
                    e["grade"], e["rel"], e["out"],
                ]
            )  # fmt: skip
    write(
        out / "ae.csv",
        ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEPTCD", "AESOC", "AESOCCD", "AESTDTC",
         "AEENDTC", "AESER", *(flag for flag, _ in SERIOUS_FLAGS), "AESEV", "AETOXGR", "AEREL", "AEOUT"],
        ae,
    )  # fmt: skip


def write_simple(subjects: list[Subject], out: Path) -> None:
    category = {"LB": "laboratory", "VS": "vital-signs", "MB": "microbiology", "RE": "imaging"}
    participants = []
    observations = []
    events = []
    for s in subjects:
        participants.append(
            [
                s.usubjid, STUDYID, "01", {"M": "male", "F": "female"}[s.sex], str(s.age), "WHITE",
                "NOT HISPANIC OR LATINO", "BLR", s.arm, s.arm_code, s.arm, s.arm_code, s.start.isoformat(),
                s.end.isoformat(), (s.start - timedelta(days=1)).isoformat(), "yes" if s.death else "",
                s.death.isoformat() if s.death else "", "death" if s.death else "completed", s.end.isoformat(),
            ]
        )  # fmt: skip
        for f in s.findings:
            nrind = f["nrind"].lower()
            observations.append(
                [
                    s.usubjid, category[f["domain"]], f["seq"], f["cat"], f["testcd"], f["test"], f["value"],
                    f["unit"], f["low"], f["high"], nrind, f["dtc"], f["visit"], f["visitnum"], f["dy"],
                    f["spec"], f["method"], "yes" if f["blfl"] else "",
                ]
            )  # fmt: skip
        for e in s.events:
            seriousness = ";".join(word for flag, word in SERIOUS_FLAGS if e[flag] == "Y")
            events.append(
                [
                    s.usubjid, e["seq"], e["term"], e["pt"], e["ptcd"], e["soc"], e["soccd"], e["start"], e["end"],
                    "yes" if e["ser"] == "Y" else "no", seriousness, e["sev"].lower(), e["grade"],
                    SIMPLE_REL[e["rel"]], SIMPLE_OUT[e["out"]],
                ]
            )  # fmt: skip
    write(
        out / "participants.csv",
        ["subject_id", "study_id", "site_id", "sex", "age", "race", "ethnicity", "country", "arm", "arm_code",
         "actual_arm", "actual_arm_code", "start_date", "end_date", "consent_date", "died", "death_date",
         "disposition", "disposition_date"],
        participants,
    )  # fmt: skip
    write(
        out / "observations.csv",
        ["subject_id", "category", "seq", "panel", "test_code", "test_name", "value", "unit", "low", "high",
         "interpretation", "date", "visit", "visit_number", "study_day", "specimen", "method", "baseline"],
        observations,
    )  # fmt: skip
    write(
        out / "adverse_events.csv",
        ["subject_id", "seq", "term", "meddra_pt", "meddra_pt_code", "meddra_soc", "meddra_soc_code", "start",
         "end", "serious", "seriousness", "severity", "grade", "relatedness", "outcome"],
        events,
    )  # fmt: skip


def generate(out: Path) -> None:
    rng = random.Random(SEED)
    subjects = make_subjects(rng)
    for s in subjects:
        make_findings(rng, s)
        make_events(rng, s)
    write_sdtm(subjects, out / "sdtm")
    write_simple(subjects, out / "simple")


if __name__ == "__main__":
    target = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "NCT04382547" / "participants"
    )
    generate(target)
    print(f"wrote the synthetic NCT04382547 participant data (SDTM and simple CSV) to {target}")
