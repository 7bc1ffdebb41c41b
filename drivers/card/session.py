"""The social security card application and the PSAM (card.md "Applications and files")."""

from __future__ import annotations

from drivers.card.codec import parse_tlv
from drivers.card.errors import ApduError, CardError
from drivers.card.iso7816 import SW_OK, Iso7816Protocol

__all__ = ["PsamSession", "SocialSecurityCardSession", "SSSE_NAME"]

INS_SELECT = 0xA4
INS_READ_RECORD = 0xB2
INS_READ_BINARY = 0xB0
INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTH = 0x82
INS_INTERNAL_AUTH = 0x88
INS_VERIFY = 0x20
SSSE_NAME = "sx1.sh.社会保障".encode("gbk")
FID_MF = b"\x3f\x00"
FID_ISSUER = b"\xef\x05"
FID_HOLDER = b"\xef\x06"
KEY_EXTERNAL = (0x46, 0x0A)  # PSAM: K_ext = SM4(RK_SSSE, D)
KEY_INTERNAL = (0x45, 0x01)  # PSAM: K_int = SM4(IRK, D)


class SocialSecurityCardSession:
    """Commands of the user card."""

    def __init__(self, protocol: Iso7816Protocol) -> None:
        self.p = protocol

    def select_mf(self) -> None:
        self.p.send(0x00, INS_SELECT, 0x00, 0x00, FID_MF, what="select MF", ok=(SW_OK,))

    def select_ssse(self) -> None:
        try:
            self.p.send(0x00, INS_SELECT, 0x04, 0x00, SSSE_NAME, what="select SSSE")
        except ApduError as exc:
            raise CardError(
                "this is not a social security card (no SSSE application)",
                "not_a_social_security_card",
            ) from exc

    def select_file(self, fid: bytes) -> None:
        self.p.send(0x00, INS_SELECT, 0x02, 0x00, fid, what=f"select {fid.hex().upper()}")

    def read_element(self, tag: int, length: int, *, optional: bool = False) -> bytes | None:
        """READ RECORD of one element (Le = length + 2); None when optional and absent (6A83)."""
        ok = (SW_OK, 0x6A83) if optional else (SW_OK,)
        data, sw = self.p.send(
            0x00, INS_READ_RECORD, tag, 0x00, le=length + 2, what=f"read element {tag:02X}", ok=ok
        )
        if sw == 0x6A83:
            return None
        return parse_tlv(data, tag)

    def get_challenge(self) -> bytes:
        data, _ = self.p.send(0x00, INS_GET_CHALLENGE, 0, 0, le=8, what="get challenge")
        if len(data) < 8:
            raise CardError("get challenge: fewer than 8 bytes", "malformed_answer")
        return data[:8]

    def external_authenticate(self, answer: bytes) -> None:
        self.p.send(0x00, INS_EXTERNAL_AUTH, 0x00, 0x0A, answer, what="external authenticate")

    def internal_authenticate(self, challenge: bytes) -> bytes:
        data, _ = self.p.send(
            0x00, INS_INTERNAL_AUTH, 0, 0, challenge, le=0, what="internal authenticate"
        )
        if len(data) != 16:
            raise CardError("internal authenticate: not 16 bytes", "malformed_answer")
        return data

    def pin_tries(self) -> int | None:
        """The PIN probe: None when no PIN is needed, else the tries left."""
        _, sw = self.p.send(
            0x00, INS_VERIFY, 0, 0, what="PIN probe", ok=(SW_OK, *range(0x63C0, 0x63D0))
        )
        return None if sw == SW_OK else sw & 0x0F

    def verify_pin(self, pin: str) -> None:
        """VERIFY with the PIN as `cn` (3 to 6 bytes); the PIN is never logged (INS 20 redacted)."""
        if not pin.isdigit() or not 3 <= (len(pin) + 1) // 2 <= 6:
            raise CardError("a PIN is 5 to 12 digits: enter it again", "pin_wrong")
        padded = pin + "F" * (len(pin) % 2)
        try:
            self.p.send(0x00, INS_VERIFY, 0, 0, bytes.fromhex(padded), what="verify PIN")
        except ApduError as exc:
            if exc.sw >> 4 == 0x63C:
                raise CardError(f"wrong PIN: {exc.sw & 0x0F} tries left", "pin_wrong") from None
            if exc.sw == 0x6983:
                raise CardError(
                    "the PIN is blocked: the holder must unblock it", "pin_blocked"
                ) from None
            raise


class PsamSession:
    """Commands of the terminal's PSAM."""

    def __init__(self, protocol: Iso7816Protocol) -> None:
        self.p = protocol

    def terminal_number(self) -> str:
        """Select the MF and read the 12-digit terminal number (short file 0x16)."""
        self.p.send(0x00, INS_SELECT, 0x00, 0x00, FID_MF, what="PSAM select MF")
        data, _ = self.p.send(0x00, INS_READ_BINARY, 0x96, 0x00, le=6, what="PSAM terminal number")
        if len(data) < 6:
            raise CardError("PSAM terminal number: fewer than 6 bytes", "psam_error")
        return data[:6].hex().upper().rstrip("F")

    def encrypt(self, key: tuple[int, int], card_sn: bytes, block: bytes) -> bytes:
        """Derive the card's key from its identification code and encrypt one 16-byte block."""
        try:
            self.p.send(0x80, 0x1A, key[0], key[1], card_sn, what="PSAM derive key")
            data, _ = self.p.send(0x80, 0xFA, 0x00, 0x00, block, le=0, what="PSAM encrypt")
        except ApduError as exc:
            raise CardError(f"PSAM: {exc}", "psam_error") from exc
        if len(data) != 16:
            raise CardError("PSAM encrypt: not 16 bytes", "psam_error")
        return data
