"""Parts of the WeChat channel that a running engine cannot show quickly: the customer-service
message API used for answers slower than WeChat's window (against a local fake of the API)."""

import asyncio
from typing import Any

from aiohttp import web

from connectors.wechat import WeChatInput, joined, parse, passive_reply, signature


async def test_a_late_answer_goes_out_through_the_customer_service_api() -> None:
    calls: list[tuple[str, Any]] = []

    async def token(request: web.Request) -> web.Response:
        calls.append(("token", dict(request.query)))
        return web.json_response({"access_token": "TOKEN-1", "expires_in": 7200})

    async def send(request: web.Request) -> web.Response:
        calls.append(("send", {"query": dict(request.query), "body": await request.json()}))
        return web.json_response({"errcode": 0})

    app = web.Application()
    app.router.add_get("/cgi-bin/token", token)
    app.router.add_post("/cgi-bin/message/custom/send", send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        channel = WeChatInput(token="t", app_id="wx123", app_secret="s3cret", api_base=f"http://127.0.0.1:{port}")
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        answer.set_result("车叫好了，编号301234。")
        await channel._send_later("openid-1", answer)
        await channel._send_later("openid-1", answer)  # the access token is reused
    finally:
        await runner.cleanup()
    assert calls[0] == ("token", {"grant_type": "client_credential", "appid": "wx123", "secret": "s3cret"})
    assert [c[0] for c in calls] == ["token", "send", "send"]
    sent = calls[1][1]
    assert sent["query"] == {"access_token": "TOKEN-1"}
    assert sent["body"] == {"touser": "openid-1", "msgtype": "text", "text": {"content": "车叫好了，编号301234。"}}


def test_protocol_pieces() -> None:
    # SHA-1 of "1409304348" + "token" + "xxxxxx" (sorted), worked out by hand once.
    assert signature("token", "1409304348", "xxxxxx") == "f43b4a6571a6552356f482636e5a77e7fa33dcc9"
    assert (
        signature("xxxxxx", "token", "1409304348") == "f43b4a6571a6552356f482636e5a77e7fa33dcc9"
    )  # order of the arguments does not matter
    fields = parse(b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
                   b"<MsgType>text</MsgType><Content>hi</Content></xml>")  # fmt: skip
    assert fields["Content"] == "hi"
    reply = passive_reply(to_user="o1", from_user="gh", content="a]]>b", now=1)
    assert "a]]]]><![CDATA[>b" in reply  # a CDATA end inside the text cannot break the XML
    assert (
        joined([{"text": "对吗？", "buttons": [{"title": "对"}, {"title": "不对"}]}]) == "对吗？\n可以回复：对 / 不对"
    )
