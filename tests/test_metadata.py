"""metadata: what a photo's EXIF says, and the time photos are ordered by."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime, timedelta, timezone

import piexif
import pytest
from photos import (
    CANON,
    XMP_APP1,
    encode_jpeg,
    exif_block,
    insert_segment,
    photo_of,
    photos_of,
    real_photo,
    sample_path,
    write_jpeg,
)
from PIL import Image

from gallerypipe.containers import EXTENDED_XMP_ID as EXTENDED
from gallerypipe.imaging import exif_bytes
from gallerypipe.metadata import (
    event_timezone,
    ordering_time,
    parse_exif_time,
    read_file_metadata,
    read_metadata,
)
from gallerypipe.pipeline import FROM_FILE, photo_warnings

CEST = timezone(timedelta(hours=2))


def exif_of(path) -> bytes | None:
    """The EXIF block the way analyse hands it to read_metadata."""
    with Image.open(path) as img:
        return exif_bytes(img)


def test_capture_time_from_date_subsec_and_offset(tmp_path):
    path = write_jpeg(
        tmp_path / "IMG_0001.JPG",
        real_photo("picos", 320),
        **CANON,
        taken="2018:06:14 09:02:11",
        subsec="27",
        offset="+02:00",
        orientation=1,
    )
    meta = read_metadata(exif_of(path))
    assert meta.capture_time == datetime(2018, 6, 14, 9, 2, 11, 270_000, tzinfo=CEST)
    assert meta.capture_time.utcoffset() == timedelta(hours=2)
    assert (meta.make, meta.model, meta.serial) == (
        "Canon",
        "Canon EOS 5D Mark III",
        "032021001234",
    )
    assert meta.has_exif
    assert meta.problems == ()


def test_whole_jpeg_bytes_read_like_the_app1_block(tmp_path):
    path = write_jpeg(
        tmp_path / "a.jpg", real_photo("fig", 320), **CANON, taken="2018:06:14 10:00:00"
    )
    assert read_metadata(path.read_bytes()) == read_metadata(exif_of(path))


def test_sample_card_photo_reads_as_its_attribution_says():
    meta = read_metadata(exif_of(sample_path("IMG_5101.JPG")))
    assert meta.capture_time == datetime(2018, 6, 14, 9, 2, 11, 270_000)
    assert meta.capture_time.tzinfo is None  # the Canon writes no offset
    assert meta.description == "Larches turning below the Aitzgorri ridge"
    assert meta.make == "Canon"


@pytest.mark.parametrize(
    ("subsec", "microsecond"),
    [("5", 500_000), ("27", 270_000), ("027", 27_000), ("655", 655_000), ("1234567", 123_456)],
)
def test_subsec_is_a_decimal_fraction(subsec, microsecond):
    taken = parse_exif_time("2018:06:14 10:22:41", subsec)
    assert taken.microsecond == microsecond


@pytest.mark.parametrize(
    ("offset", "delta"),
    [
        ("+02:00", timedelta(hours=2)),
        ("-05:00", -timedelta(hours=5)),
        ("+0530", timedelta(hours=5, minutes=30)),
    ],
)
def test_offsets_east_and_west(offset, delta):
    taken = parse_exif_time("2018:06:14 10:22:41", None, offset)
    assert taken.utcoffset() == delta
    assert taken.replace(tzinfo=None) == datetime(2018, 6, 14, 10, 22, 41)


@pytest.mark.parametrize("offset", [None, "", "      ", "   :  ", "Z", "+2"])
def test_blank_or_unreadable_offset_leaves_the_time_naive(offset):
    assert parse_exif_time("2018:06:14 10:22:41", "  ", offset).tzinfo is None


def test_all_space_description_as_canon_writes_it_is_none(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", real_photo("life", 320), **CANON, description=" " * 31)
    meta = read_metadata(exif_of(path))
    assert meta.description is None
    assert meta.make == "Canon"  # the rest of the block is still read


def test_sample_with_blank_description_reads_none():
    # IMG_5102 carries Canon's 31 spaces (exiftool shows them); the caption must not be "".
    assert read_metadata(exif_of(sample_path("IMG_5102.JPG"))).description is None


def test_real_caption_is_kept_trimmed(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", real_photo("life", 320), description="  Río Urbión  ")
    assert read_metadata(exif_of(path)).description == "Río Urbión"


@pytest.mark.parametrize(
    "payload",
    [
        b"Exif\x00\x00not a TIFF header at all",
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01",  # IFD cut short
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",  # IFD offset far past the end
    ],
)
def test_malformed_exif_is_a_problem_not_a_crash(payload):
    meta = read_metadata(payload)
    assert meta.capture_time is None
    assert meta.has_exif is False
    assert len(meta.problems) == 1
    assert meta.problems[0].startswith("unreadable EXIF")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_photo_with_malformed_exif_is_still_analysed_with_the_problem_noted(tmp_path):
    jpeg = encode_jpeg(real_photo("sunset", 480), exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f")
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(jpeg)
    photo = photo_of(path)
    assert photo.meta.problems and "unreadable EXIF" in photo.meta.problems[0]
    assert photo.time_from_file  # no capture time: ordered by the file's mtime
    assert (photo.analysis.width, photo.analysis.height) == (480, 320)


def test_no_exif_at_all():
    meta = read_metadata(None)
    assert meta.has_exif is False
    assert meta.capture_time is None
    assert meta.orientation == 1
    assert meta.problems == ()


def test_unset_camera_clock_falls_back_to_digitized_time():
    exif = exif_block(**CANON, taken="2018:06:14 09:30:00")
    # Rewrite DateTimeOriginal alone as an unset clock writes it.
    tags = piexif.load(exif)
    tags["Exif"][piexif.ExifIFD.DateTimeOriginal] = b"0000:00:00 00:00:00"
    meta = read_metadata(piexif.dump(tags))
    assert meta.capture_time == datetime(2018, 6, 14, 9, 30)
    assert meta.problems == ()  # zeros are EXIF's "not set", not a malformed value


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_out_of_range_orientation_means_upright(tmp_path, orientation):
    path = write_jpeg(tmp_path / "a.jpg", real_photo("fig", 200), orientation=orientation)
    assert read_metadata(exif_of(path)).orientation == 1


def test_event_timezone_is_the_most_common_offset():
    plus2 = timezone(timedelta(hours=2))
    plus1 = timezone(timedelta(hours=1))
    times = [
        datetime(2018, 6, 14, 9, 0, tzinfo=plus2),
        datetime(2018, 6, 14, 9, 5, tzinfo=plus2),
        datetime(2018, 6, 14, 8, 10, tzinfo=plus1),  # a phone still on home time
        datetime(2018, 6, 14, 9, 15),  # a camera with no offset does not vote
        None,
    ]
    assert event_timezone(times).utcoffset(None) == timedelta(hours=2)


def test_event_timezone_without_offsets_is_utc():
    assert event_timezone([datetime(2018, 6, 14, 9, 0), None]) == UTC
    assert event_timezone([]) == UTC


def test_naive_camera_time_is_read_on_the_event_clock():
    taken, from_file = ordering_time(datetime(2018, 6, 14, 9, 2, 11), 0.0, CEST)
    assert (taken, from_file) == (datetime(2018, 6, 14, 7, 2, 11, tzinfo=UTC), False)
    assert taken.tzinfo is CEST


def test_camera_offset_wins_over_the_event_zone():
    plus1 = timezone(timedelta(hours=1))
    taken, from_file = ordering_time(datetime(2018, 6, 14, 8, 2, tzinfo=plus1), 0.0, CEST)
    assert taken.utcoffset() == timedelta(hours=1)
    assert not from_file


def test_no_capture_time_falls_back_to_mtime_in_utc():
    mtime = datetime(2018, 6, 14, 7, 40, 9, tzinfo=UTC).timestamp()
    taken, from_file = ordering_time(None, mtime, CEST)
    assert from_file
    assert taken == datetime(2018, 6, 14, 9, 40, 9, tzinfo=CEST)


def test_mixed_cameras_order_on_one_clock(tmp_path):
    """A phone that writes +02:00 and a Canon that writes no offset, ten minutes apart."""
    phone = write_jpeg(
        tmp_path / "phone.jpg",
        real_photo("bridge", 320),
        make="Apple",
        model="iPhone 8",
        taken="2018:06:14 10:40:09",
        offset="+02:00",
    )
    canon = write_jpeg(
        tmp_path / "canon.jpg", real_photo("picos", 320), **CANON, taken="2018:06:14 10:30:00"
    )
    first, second = photos_of(phone, canon)
    assert first.source.path == canon
    assert (second.taken - first.taken) == timedelta(minutes=10, seconds=9)


def test_unrecognised_bytes_are_not_taken_for_a_file_name():
    meta = read_metadata(str(sample_path("IMG_5101.JPG")).encode())
    assert meta.make is None
    assert meta.problems


def test_blank_unknown_date_gives_no_capture_time():
    # EXIF: "when the date and time are unknown, all the character spaces except colons may be
    # filled with blank characters" — some bodies write exactly that before the clock is set.
    meta = read_metadata(exif_block(**CANON, taken="    :  :     :  :  "))
    assert meta.capture_time is None
    assert meta.make == "Canon"


# --- one reader: XMP, IPTC, tolerant EXIF, offsets (issue 14) ---

XMP_DATE = (
    "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF"
    " xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description"
    " xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/'"
    " xmlns:dc='http://purl.org/dc/elements/1.1/'"
    " photoshop:DateCreated='{date}'>{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def jpeg_with(*segments: tuple[int, bytes], exif: bytes | None = None) -> bytes:
    data = encode_jpeg(real_photo("fig", 64), exif=exif)
    for marker, payload in segments:
        data = insert_segment(data, marker, payload)
    return data


def iptc_block(*datasets: tuple[int, int, bytes]) -> bytes:
    return b"".join(
        b"\x1c" + bytes([record, number]) + struct.pack(">H", len(value)) + value
        for record, number, value in datasets
    )


def app13(iptc: bytes, digest: bytes | None = None) -> bytes:
    def resource(number: int, data: bytes) -> bytes:
        pad = b"\x00" if len(data) % 2 else b""
        return b"8BIM" + struct.pack(">HxxI", number, len(data)) + data + pad

    blocks = resource(0x0404, iptc) + (resource(0x0425, digest) if digest else b"")
    return b"Photoshop 3.0\x00" + blocks


def test_xmp_date_keeps_its_fraction_and_offset():
    packet = XMP_DATE.format(date="2018-11-14T14:17:08.253+01:00", body="").encode()
    meta = read_file_metadata(jpeg_with((0xE1, XMP_APP1 + packet)))
    assert meta.capture_time == datetime(
        2018, 11, 14, 14, 17, 8, 253_000, tzinfo=timezone(timedelta(hours=1))
    )
    assert meta.time_source == "xmp"


def test_iptc_date_time_and_offset_when_nothing_else_has_a_date():
    iptc = iptc_block((1, 90, b"\x1b%G"), (2, 55, b"20060806"), (2, 60, b"063751-0500"))
    meta = read_file_metadata(jpeg_with((0xED, app13(iptc))))
    assert meta.capture_time == datetime(
        2006, 8, 6, 6, 37, 51, tzinfo=timezone(-timedelta(hours=5))
    )
    assert meta.time_source == "iptc"


def test_exif_wins_over_xmp_and_iptc_dates():
    packet = XMP_DATE.format(date="2001-01-01T00:00:00", body="").encode()
    iptc = iptc_block((2, 55, b"19990101"))
    exif = exif_block(**CANON, taken="2018:06:14 09:02:11")
    meta = read_file_metadata(jpeg_with((0xE1, XMP_APP1 + packet), (0xED, app13(iptc)), exif=exif))
    assert (meta.capture_time, meta.time_source) == (datetime(2018, 6, 14, 9, 2, 11), "exif")


def test_iptc_wins_over_xmp_when_its_digest_says_it_changed_since():
    packet = XMP_DATE.format(date="2001-01-01T10:00:00", body="").encode()
    iptc = iptc_block((2, 55, b"20020202"), (2, 60, b"101010"), (2, 120, b"IPTC caption"))
    stale = app13(iptc, digest=b"\x00" * 16)  # the digest of some older IPTC
    meta = read_file_metadata(jpeg_with((0xE1, XMP_APP1 + packet), (0xED, stale)))
    assert (meta.capture_time, meta.title) == (datetime(2002, 2, 2, 10, 10, 10), "IPTC caption")
    current = app13(iptc, digest=hashlib.md5(iptc).digest())  # in sync: XMP wins
    meta = read_file_metadata(jpeg_with((0xE1, XMP_APP1 + packet), (0xED, current)))
    assert meta.capture_time == datetime(2001, 1, 1, 10, 0)


@pytest.mark.parametrize(
    ("charset", "raw", "text"),
    [
        (b"\x1b%G", "Nervión".encode(), "Nervión"),  # declared UTF-8
        (None, "Noël".encode("latin-1"), "Noël"),  # old IPTC: Latin-1
        (None, "Río".encode(), "Río"),  # undeclared but valid UTF-8
    ],
)
def test_iptc_caption_character_sets(charset, raw, text):
    datasets = [(1, 90, charset)] if charset else []
    iptc = iptc_block(*datasets, (2, 120, raw))
    assert read_file_metadata(jpeg_with((0xED, app13(iptc)))).title == text


@pytest.mark.parametrize("codec", ["utf-16-be", "utf-16-le", "utf-16", "utf-32"])
def test_utf16_and_utf32_xmp_packets(codec):
    packet = XMP_DATE.format(
        date="2015-05-05T10:00:00",
        body="<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Señal</rdf:li></rdf:Alt></dc:title>",
    )
    meta = read_file_metadata(jpeg_with((0xE1, XMP_APP1 + packet.encode(codec))))
    assert (meta.title, meta.problems) == ("Señal", ())


def test_extended_xmp_chunks_are_joined_by_guid_and_offset():
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    main = (
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF"
        " xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description"
        " xmlns:xmpNote='http://ns.adobe.com/xmp/note/'"
        f" xmpNote:HasExtendedXMP='{guid.decode()}'/></rdf:RDF></x:xmpmeta>"
    ).encode()
    extension = XMP_DATE.format(date="2019-05-04T10:11:12", body="").encode()
    half = len(extension) // 2
    chunks = [
        (0xE1, EXTENDED + guid + struct.pack(">LL", len(extension), offset) + part)
        for offset, part in ((half, extension[half:]), (0, extension[:half]))  # out of order
    ]
    meta = read_file_metadata(jpeg_with((0xE1, XMP_APP1 + main), *chunks))
    assert meta.capture_time == datetime(2019, 5, 4, 10, 11, 12)
    missing = read_file_metadata(jpeg_with((0xE1, XMP_APP1 + main), chunks[0]))
    assert missing.capture_time is None and any("Extended XMP" in p for p in missing.problems)


def test_an_unreadable_offset_drops_only_the_offset():
    exif = exif_block(**CANON, taken="2021:09:10 11:12:13", subsec="04", offset="+99:99")
    meta = read_metadata(exif)
    assert meta.capture_time == datetime(2021, 9, 10, 11, 12, 13, 40_000)  # naive, kept
    assert meta.problems == ("unreadable time-zone offset '+99:99' (the time is used without it)",)


def test_an_exif_entry_of_the_wrong_type_is_still_read():
    exif = bytearray(exif_block(make="NIKON", model="COOLPIX P7000", taken="2011:10:09 08:07:06"))
    order = "<" if exif[6:8] == b"II" else ">"
    for tag in (piexif.ImageIFD.Model, piexif.ExifIFD.DateTimeOriginal):
        at = exif.index(struct.pack(order + "HH", tag, 2))
        exif[at + 2 : at + 4] = struct.pack(order + "H", 7)  # ASCII → UNDEFINED
    meta = read_metadata(bytes(exif))
    assert (meta.model, meta.capture_time) == ("COOLPIX P7000", datetime(2011, 10, 9, 8, 7, 6))


def test_an_exif_entry_pointing_past_the_block_loses_only_itself():
    exif = bytearray(exif_block(**CANON, taken="2018:06:14 09:02:11", description="x" * 40))
    order = "<" if exif[6:8] == b"II" else ">"
    at = exif.index(struct.pack(order + "HH", piexif.ImageIFD.ImageDescription, 2))
    exif[at + 8 : at + 12] = struct.pack(order + "L", 0x7FFFFFF0)  # value offset past the end
    meta = read_metadata(bytes(exif))
    assert (meta.make, meta.capture_time) == ("Canon", datetime(2018, 6, 14, 9, 2, 11))
    assert meta.description is None and "ImageDescription" in meta.problems[0]


def test_no_date_anywhere_is_a_warning_and_time_source_file(tmp_path):
    path = tmp_path / "scan.jpg"
    path.write_bytes(encode_jpeg(real_photo("fig", 64)))
    photo = photo_of(path)
    assert (photo.time_from_file, photo.time_source) == (True, "file")
    assert [w.reason for w in photo_warnings([photo])] == [FROM_FILE]


def test_date_original_in_ifd0_as_some_bodies_write_it():
    make, date = b"KODAK\x00", b"2004:05:06 07:08:09\x00"
    entries = 2
    data_at = 8 + 2 + 12 * entries + 4
    ifd = struct.pack("<H", entries)
    ifd += struct.pack("<HHLL", 0x010F, 2, len(make), data_at)
    ifd += struct.pack("<HHLL", 0x9003, 2, len(date), data_at + len(make))
    tiff = b"II*\x00" + struct.pack("<L", 8) + ifd + b"\x00" * 4 + make + date
    meta = read_metadata(b"Exif\x00\x00" + tiff)
    assert (meta.make, meta.capture_time) == ("KODAK", datetime(2004, 5, 6, 7, 8, 9))


def test_stray_bytes_between_segments_do_not_hide_the_metadata():
    exif = exif_block(**CANON, taken="2018:06:14 09:02:11")
    data = encode_jpeg(real_photo("fig", 64))
    segment = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    data = data[:2] + b"\x00\x00junk" + segment + data[2:]
    assert read_file_metadata(data).capture_time == datetime(2018, 6, 14, 9, 2, 11)


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2005/08/10 06:24:38", None, datetime(2005, 8, 10, 6, 24, 38)),
        (
            "2005:08:10 06:24:38",
            "+1:00",
            datetime(2005, 8, 10, 6, 24, 38, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            "2012:02:11 14:17:08.253+01:00",
            "+05:00",
            datetime(2012, 2, 11, 14, 17, 8, 253_000, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2020-02-29T23:59:59Z", None, datetime(2020, 2, 29, 23, 59, 59, tzinfo=UTC)),
        ("2006-10-29", None, datetime(2006, 10, 29)),
    ],
)
def test_date_forms(value, offset, expected):
    assert parse_exif_time(value, None, offset) == expected
