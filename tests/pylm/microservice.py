"""pylm's own microservice seed with its ports as arguments:
`microservice.py HTTP_PORT PULL_ADDR PUSH_ADDR DB_ADDR`."""
import sys

from pylm.parts.gateways import GatewayDealer, GatewayRouter, HttpGateway
from pylm.parts.servers import ServerTemplate
from pylm.parts.services import CacheService, WorkerPullService, WorkerPushService

http_port, worker_pull_address, worker_push_address, db_address = sys.argv[1:5]
server = ServerTemplate()
server.register_inbound(GatewayRouter, 'gateway_router', 'inproc://gateway_router',
                        route='WorkerPush')
server.register_outbound(GatewayDealer, 'gateway_dealer',
                         listen_address='inproc://gateway_router')
server.register_bypass(HttpGateway, name='HttpGateway', listen_address='inproc://gateway_router',
                       hostname='localhost', port=int(http_port))
server.register_inbound(WorkerPullService, 'WorkerPull', worker_pull_address,
                        route='gateway_dealer')
server.register_outbound(WorkerPushService, 'WorkerPush', worker_push_address)
server.register_bypass(CacheService, 'Cache', db_address)
server.preset_cache(name='server', db_address=db_address,
                    worker_pull_address=worker_pull_address,
                    worker_push_address=worker_push_address)

if __name__ == '__main__':
    server.start()
