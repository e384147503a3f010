#!/usr/bin/env python3
"""A TCP proxy that delays every byte by a fixed time in each direction: the round trip of a remote
link, for `scripts/bench downtime` (the kernel here has no netem; tbf limits the bandwidth).

    delay_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT ONE_WAY_MS

Listens on 127.0.0.1:LISTEN_PORT. Each chunk read from one side is written to the other side
ONE_WAY_MS after it arrived, in order, so a round trip costs 2 * ONE_WAY_MS while the bandwidth
stays whatever the path behind it allows. At most 64 chunks of 64 KiB wait per direction (far more
than the bandwidth-delay product of 100 Mbit/s at 10 ms, 125 KB), so a fast sender is slowed by
TCP's own backpressure instead of filling this process's memory. Prints "ready" once listening.
"""
import asyncio
import socket
import sys


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue(maxsize=64)

    async def send():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data))
            if not data:
                break
    except (ConnectionError, OSError):
        await queue.put((loop.time(), b""))
    try:
        await sender
    except (ConnectionError, OSError):
        pass


def nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def main():
    listen_port, host, port, one_way_ms = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    delay = one_way_ms / 1000.0

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        nodelay(client_writer)
        nodelay(server_writer)
        await asyncio.gather(pipe(client_reader, server_writer, delay), pipe(server_reader, client_writer, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
