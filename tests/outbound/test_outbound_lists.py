"""Contact-list import: good rows in order, one error per problem with the right line."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from pathlib import Path

import pytest

from callcore.outbound.lists import (
    ContactRecord,
    Duplicate,
    ImportReport,
    ListError,
    RowError,
    import_csv,
    import_csv_async,
    import_rows,
)

GOOD = """\
id,number,name,customer_id,debt_id,timezone,balance,days_past_due,product
A1,138-0013-8000,Zhang San,C1,D1,Asia/Shanghai,1200.50,35,card
A2,(0571) 8888 1234,Li Si,C2,D2,,88.00,12,loan
"""


def write(tmp_path: Path, text: str, name: str = "list.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_good_file_gives_records_with_custom_fields(tmp_path: Path) -> None:
    rep = import_csv(write(tmp_path, GOOD))
    assert rep.errors == [] and rep.duplicates == []
    assert [r.record_id for r in rep.records] == ["A1", "A2"]
    a1, a2 = rep.records
    assert a1.number == "+8613800138000" and a1.phone.kind == "mobile"
    assert (a1.name, a1.customer_id, a1.debt_id, a1.timezone) == (
        "Zhang San",
        "C1",
        "D1",
        "Asia/Shanghai",
    )
    assert dict(a1.fields) == {"balance": "1200.50", "days_past_due": "35", "product": "card"}
    assert a2.number == "+8657188881234" and a2.phone.area_code == "571"
    assert a2.timezone is None
    assert (a1.line, a2.line) == (2, 3)
    assert rep.encoding == "utf-8" and rep.source.endswith("list.csv")
    assert rep.summary() == "2 imported, 0 rejected, 0 duplicates"


def test_fields_are_read_only() -> None:
    rec = import_rows([{"number": "13800138000", "balance": "1"}]).records[0]
    with pytest.raises(TypeError):
        rec.fields["balance"] = "0"  # type: ignore[index]
    with pytest.raises(AttributeError):
        rec.name = "x"  # type: ignore[misc]


def test_bad_rows_in_the_middle_are_reported_with_physical_line_numbers(tmp_path: Path) -> None:
    text = (
        "id,number,name,timezone,note\n"  # 1
        "r1,13800138000,Ann,Asia/Shanghai,ok\n"  # 2
        'r2,13900139000,Bob,,"line one\n'  # 3
        "line two\n"  # 4
        'line three"\n'  # 5
        "r3,1380013800X,Cat,,bad number\n"  # 6
        "r4,,Dan,,no number\n"  # 7
        "r5,13700137000,,,no name\n"  # 8
        "r6,13600136000,Eve,Mars/Olympus,bad tz\n"  # 9
        "\n"  # 10 blank in the middle
        "r7,13500135000,Fay,America/New_York,ok\n"  # 11
        "\n"
        "\n"
    )
    rep = import_csv(io.StringIO(text), required=["name"])
    assert [(r.record_id, r.line) for r in rep.records] == [("r1", 2), ("r2", 3), ("r7", 11)]
    assert rep.records[1].fields["note"] == "line one\nline two\nline three"
    assert [(e.line, e.column, e.value) for e in rep.errors] == [
        (6, "number", "1380013800X"),
        (7, "number", ""),
        (8, "name", ""),
        (9, "timezone", "Mars/Olympus"),
    ]
    reasons = [e.reason for e in rep.errors]
    assert reasons[0] == "letters in number"
    assert reasons[1] == "number missing"
    assert reasons[2] == "required value missing"
    assert reasons[3] == "unknown time zone"
    assert rep.rows == 7
    assert rep.summary() == "3 imported, 4 rejected, 0 duplicates"


def test_one_row_with_several_problems_counts_once(tmp_path: Path) -> None:
    rep = import_rows([{"number": "abc", "tz": "Nowhere/City", "name": ""}], required=("name",))
    assert [e.column for e in rep.errors] == ["number", "name", "tz"]
    assert rep.rejected == 1
    assert "rejected" in rep.summary() and rep.summary().startswith("0 imported, 1 rejected")


def test_duplicates_name_the_first_line_and_compare_normalized_numbers() -> None:
    text = (
        "number,name\n"
        "13800138000,first\n"
        "+86 138 0013 8000,same number spelt differently\n"
        "13900139000,other\n"
        "0086-138-0013-8000,third copy\n"
    )
    rep = import_csv(io.StringIO(text))
    assert [r.name for r in rep.records] == ["first", "other"]
    assert rep.duplicates == [
        Duplicate(3, "number", "+86 138 0013 8000", 2),
        Duplicate(5, "number", "0086-138-0013-8000", 2),
    ]
    assert rep.duplicates[0].reason == "duplicate of line 2"
    assert rep.summary() == "2 imported, 0 rejected, 2 duplicates"
    assert len(import_csv(io.StringIO(text), dedupe=False).records) == 4


def test_dedupe_by_customer_keeps_one_row_per_customer() -> None:
    rows = [
        {"number": "13800138000", "customer_id": "C1"},
        {"number": "13900139000", "customer_id": "C1"},  # C1's second phone
        {"number": "13700137000", "customer_id": ""},
        {"number": "13700137000", "customer_id": ""},  # no customer: deduped by number
        {"number": "13600136000", "customer_id": "C2"},
    ]
    rep = import_rows(rows, dedupe="customer")
    assert [r.number[-4:] for r in rep.records] == ["8000", "7000", "6000"]
    assert [(d.line, d.column, d.value, d.first_line) for d in rep.duplicates] == [
        (2, "customer_id", "C1", 1),
        (4, "number", "13700137000", 3),
    ]


def test_rejected_rows_do_not_claim_a_number_for_dedupe() -> None:
    rep = import_rows(
        [
            {"number": "13800138000", "tz": "Bad/Zone"},
            {"number": "13800138000", "tz": "Asia/Shanghai"},
        ]
    )
    assert [r.line for r in rep.records] == [2]
    assert rep.duplicates == []


def test_utf8_bom_is_stripped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffnumber,name\n13800138000,王五\n".encode())
    rep = import_csv(path)
    assert rep.encoding == "utf-8-sig"
    assert rep.records[0].name == "王五"


def test_bom_inside_a_text_stream_is_stripped_too() -> None:
    rep = import_csv(io.StringIO("\ufeffNumber,Name\n13800138000,x\n"))
    assert rep.records[0].number == "+8613800138000"


def test_gb18030_export_falls_back_and_says_so(tmp_path: Path) -> None:
    text = "编号,number,name,备注\n1,13800138000,张三,逾期三十天\n2,010-12345678,李四,\n"
    path = write(tmp_path, text, "bank.csv", "gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the premise: not valid UTF-8
    rep = import_csv(path)
    assert rep.encoding == "gb18030"
    assert [r.name for r in rep.records] == ["张三", "李四"]
    assert rep.records[0].fields == {"编号": "1", "备注": "逾期三十天"}


def test_gb18030_detected_even_when_the_first_bad_byte_is_far_down(tmp_path: Path) -> None:
    rows = "".join(f"{13800000000 + i},name{i}\n" for i in range(3000))
    path = tmp_path / "late.csv"
    path.write_bytes(("number,name\n" + rows).encode() + "13900139000,赵六\n".encode("gb18030"))
    rep = import_csv(path)
    assert rep.encoding == "gb18030"
    assert len(rep.records) == 3001 and rep.records[-1].name == "赵六"


def test_bytes_source_and_undecodable_bytes() -> None:
    rep = import_csv("number,name\n13800138000,张三\n".encode("gb18030"))
    assert (rep.encoding, rep.records[0].name, rep.source) == ("gb18030", "张三", "<bytes>")
    with pytest.raises(ListError, match="not UTF-8 or GB18030"):
        import_csv(b"number\n\xff\xff\xff\n")


def test_missing_number_column_is_a_whole_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "id,phone,name\n1,13800138000,x\n", "leads.csv")
    with pytest.raises(ListError) as err:
        import_csv(path)
    msg = str(err.value)
    assert "leads.csv" in msg and "'number'" in msg and "phone" in msg
    assert import_csv(path, number_column="phone").records[0].number == "+8613800138000"


def test_missing_required_column_and_empty_file_are_whole_file_errors() -> None:
    with pytest.raises(ListError, match="'balance'"):
        import_csv(io.StringIO("number\n13800138000\n"), required=["balance"])
    with pytest.raises(ListError, match="no header"):
        import_csv(io.StringIO("\n\n"))
    with pytest.raises(ListError, match="twice"):
        import_csv(io.StringIO("number,Name,name\n1,2,3\n"))


def test_header_matching_trimming_crlf_and_short_rows() -> None:
    text = " Number , NAME ,Balance,\r\n  13800138000 ,  Wang  , 12 ,\r\n13900139000\r\n\r\n"
    rep = import_csv(io.StringIO(text, newline=""))
    assert [(r.number, r.name, dict(r.fields)) for r in rep.records] == [
        ("+8613800138000", "Wang", {"Balance": "12"}),
        ("+8613900139000", "", {"Balance": ""}),
    ]
    assert rep.errors == []


def test_row_with_more_values_than_header_is_rejected() -> None:
    text = "number,name,balance\n13800138000,Wang, Wei,12\n13900139000,Li,5\n"
    rep = import_csv(io.StringIO(text))
    assert rep.errors == [RowError(2, None, "12", "4 values but the header has 3 columns")]
    assert [r.line for r in rep.records] == [3]


def test_ids_generated_when_absent_and_duplicate_ids_rejected() -> None:
    rep = import_rows(
        [
            {"id": "X", "number": "13800138000"},
            {"id": "", "number": "13900139000"},
            {"id": "X", "number": "13700137000"},
        ],
        start_line=10,
    )
    assert [r.record_id for r in rep.records] == ["X", "line-11"]
    assert rep.errors[0].line == 12 and "first used on line 10" in rep.errors[0].reason
    rep = import_csv(io.StringIO("number\n13800138000\n"), id_column=None)
    assert rep.records[0].record_id == "line-2"


def test_validators_reject_or_convert() -> None:
    def positive(text: str) -> Decimal:
        value = Decimal(text)
        if value <= 0:
            raise ValueError("balance must be positive")
        return value

    rows = [
        {"number": "13800138000", "balance": "12.50", "product": "card"},
        {"number": "13900139000", "balance": "-3", "product": "card"},
        {"number": "13700137000", "balance": "lots", "product": "card"},
        {"number": "13600136000", "balance": "1", "product": "boat"},
        {"number": "13500135000", "balance": "", "product": "loan"},  # empty: not validated
    ]
    rep = import_rows(
        rows, validators={"balance": positive, "product": lambda v: v in ("card", "loan")}
    )
    assert [r.line for r in rep.records] == [1, 5]
    assert rep.records[0].fields["balance"] == Decimal("12.50")
    assert rep.records[0].fields["product"] == "card"  # True keeps the text
    assert [(e.line, e.column, e.reason) for e in rep.errors] == [
        (2, "balance", "balance must be positive"),
        (3, "balance", str(_decimal_error("lots"))),  # the exception's own text
        (4, "product", "failed validation"),
    ]


def _decimal_error(text: str) -> Exception:
    try:
        Decimal(text)
    except ArithmeticError as exc:
        return exc
    raise AssertionError


def test_import_rows_accepts_api_values() -> None:
    rep = import_rows(
        [
            {"number": 13800138000, "name": None, "balance": 12.5},
            {"name": "no number at all"},
            {},
            {"number": "  "},
        ],
        start_line=1,
    )
    assert rep.records[0].number == "+8613800138000"
    assert rep.records[0].name == "" and rep.records[0].fields["balance"] == "12.5"
    assert [(e.line, e.reason) for e in rep.errors] == [(2, "number missing")]
    assert rep.rows == 2  # the blank rows are skipped
    assert rep.encoding is None


def test_default_country_applies_to_national_numbers() -> None:
    rep = import_csv(io.StringIO("number\n(212) 555-1234\n13800138000\n"), default_country="US")
    assert [r.number for r in rep.records] == ["+12125551234"]
    assert "North American" in rep.errors[0].reason


def test_summary_uses_thousands_separators() -> None:
    rows = [{"number": str(13000000000 + i)} for i in range(1234)]
    rows += [{"number": "bad"}] * 3 + [{"number": "13000000000"}] * 2
    rep = import_rows(rows)
    assert rep.summary() == "1,234 imported, 3 rejected, 2 duplicates"


def test_async_import_runs_in_a_thread(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    async def main() -> ImportReport:
        return await import_csv_async(path, required=["name"])

    rep = asyncio.run(main())
    assert [r.record_id for r in rep.records] == ["A1", "A2"]


def test_semicolon_delimited_export() -> None:
    rep = import_csv(io.StringIO("number;name\n13800138000;Wang\n"), delimiter=";")
    assert rep.records[0].name == "Wang"


def test_contact_record_can_be_built_directly() -> None:
    rep = import_rows([{"number": "13800138000"}])
    rec = ContactRecord("x", rep.records[0].number, rep.records[0].phone, fields={"a": 1})
    assert rec.fields == {"a": 1}
    assert hash(rec) == hash(ContactRecord("x", rec.number, rec.phone, fields={"a": 2}))
