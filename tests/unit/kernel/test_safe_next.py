"""Where a login may send the browser back to: only a path of this site."""
import pytest

from services.kernel.pages.login import safe_next


@pytest.mark.parametrize("target", ["/", "/clients?search=Aino%20E", "/referrals/1f2e?box=incoming&page=2"])
def test_a_path_of_this_site_is_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None, "", "clients", "https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r//evil.example", "/ /evil.example", "/\x00", "/\x7f/x",
    "javascript:alert(1)",
])
def test_anything_else_is_refused(target):
    assert safe_next(target) is None
