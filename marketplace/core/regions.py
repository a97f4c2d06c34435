"""Administrative division codes (GB/T 2260): six digits, the first two name the province."""

from __future__ import annotations

import re

PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}

# Cities and districts that appear in the seed texts and the demo data.
PLACES = {
    "530100": "云南省昆明市", "530102": "昆明市五华区", "530103": "昆明市盘龙区",
    "530111": "昆明市官渡区", "530112": "昆明市西山区", "530400": "云南省玉溪市",
    "211100": "辽宁省盘锦市", "211122": "盘锦市大洼区", "370100": "山东省济南市",
    "370102": "济南市历下区", "140500": "山西省晋城市", "140581": "晋城市高平市",
    "500000": "重庆市", "500103": "重庆市渝中区", "510100": "四川省成都市",
    "110000": "北京市", "310000": "上海市", "440100": "广东省广州市",
}

_CODE = re.compile(r"^\d{6}$")


def is_valid_region(code: str) -> bool:
    """Six digits whose first two name a province."""
    return bool(_CODE.match(code or "")) and code[:2] in PROVINCES


def region_name(code: str | None) -> str:
    """A readable name for a code: the place if known, else province plus the code."""
    if not code:
        return ""
    if code in PLACES:
        return PLACES[code]
    if code.endswith("0000") and code[:2] in PROVINCES:
        return PROVINCES[code[:2]]
    province = PROVINCES.get(code[:2], "")
    return f"{province}（{code}）" if province else code
