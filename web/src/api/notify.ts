/** Notification channels (with their kinds and test sends) and the delivery log. */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { components } from "./schema";

type S = components["schemas"];
export type Channel = S["ChannelPublic"];
export type ChannelKind = S["ChannelKindPublic"];
export type KindField = S["KindField"];
export type TestResult = S["TestResult"];
export type Delivery = S["DeliveryPublic"];

const deliveries = ["notification-deliveries"] as const;

/** Query keys: `deliveries` covers the delivery log whatever its filters. */
export const notifyKeys = {
  channels: ["notification-channels"] as const,
  channelKinds: ["notification-channel-kinds"] as const,
  deliveries,
  deliveryList: (channelId: string, status: string) => [...deliveries, channelId, status] as const,
};

export function channelKindsQuery() {
  return queryOptions({
    queryKey: notifyKeys.channelKinds,
    queryFn: () => unwrap(api.GET("/api/v1/notification-channels/kinds")),
    staleTime: Infinity,
  });
}

export function channelsQuery() {
  return queryOptions({
    queryKey: notifyKeys.channels,
    queryFn: () => unwrap(api.GET("/api/v1/notification-channels", { params: { query: { limit: 500 } } })),
  });
}

/** The delivery log, newest first, polled every 10 s. */
export function deliveriesQuery(channelId: string, status: string) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: notifyKeys.deliveryList(channelId, status),
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/notification-deliveries", {
          params: {
            query: {
              limit: PAGE_SIZE,
              cursor: pageParam ?? undefined,
              channel_id: channelId || undefined,
              status: status || undefined,
            },
          },
        }),
      ),
    refetchInterval: 10_000,
  });
}

// ---- writes ---------------------------------------------------------------------------------

export function createChannel(body: S["ChannelCreate"]) {
  return unwrap(api.POST("/api/v1/notification-channels", { body }));
}

export function updateChannel(id: string, body: S["ChannelUpdate"]) {
  return unwrap(api.PATCH("/api/v1/notification-channels/{channel_id}", { params: { path: { channel_id: id } }, body }));
}

export function testChannel(id: string) {
  return unwrap(api.POST("/api/v1/notification-channels/{channel_id}/test", { params: { path: { channel_id: id } } }));
}

export function deleteChannel(id: string) {
  return unwrap(api.DELETE("/api/v1/notification-channels/{channel_id}", { params: { path: { channel_id: id } } }));
}

/** Send a dead delivery again now. */
export function retryDelivery(outboxId: string) {
  return unwrap(
    api.POST("/api/v1/notification-deliveries/{outbox_id}/retry", { params: { path: { outbox_id: outboxId } } }),
  );
}
