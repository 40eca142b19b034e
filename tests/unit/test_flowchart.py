import re

from services.catalog.flowchart import swimlane_dot
from services.catalog.yaml_io import read_sop_file
from tests.conftest import CATALOG_DIR


def _lkj():
    return read_sop_file(CATALOG_DIR / "penyusunan-lkj.yaml")


def test_one_lane_per_pelaksana_holding_its_steps() -> None:
    dot = swimlane_dot(_lkj())
    clusters = re.findall(r"subgraph cluster_lane_(\d+) \{(.*?)\n  \}", dot, re.DOTALL)
    assert len(clusters) == 3
    members = {re.search(r'lane_\d+ \[label="([^"]+)"', body).group(1):
               sorted(int(n) for n in re.findall(r"^    s(\d+) \[", body, re.MULTILINE))
               for _, body in clusters}
    assert members == {"Sekretaris": [1, 5, 7], "Fungsional": [2, 3, 4, 8], "Kadis": [6]}


def test_decisions_are_diamonds_with_yes_and_no_arrows() -> None:
    dot = swimlane_dot(_lkj())
    diamonds = sorted(int(n) for n in re.findall(r"^    s(\d+) \[.*shape=diamond", dot, re.MULTILINE))
    assert diamonds == [4, 5, 6]
    assert re.findall(r'^  s(\d+) -> s(\d+) \[xlabel="T"', dot, re.MULTILINE) == [
        ("4", "3"), ("5", "4"), ("6", "5")]
    assert re.findall(r'^  s(\d+) -> s(\d+) \[xlabel="Y"', dot, re.MULTILINE) == [
        ("4", "5"), ("5", "6"), ("6", "7")]
    assert "  start -> s1;" in dot and "  s8 -> finish;" in dot


def test_annotations_are_added_and_quotes_escaped() -> None:
    dot = swimlane_dot(_lkj(), annotations={2: 'median "45" mnt'})
    assert 'median \\"45\\" mnt' in dot
