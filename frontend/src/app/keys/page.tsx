import type { Metadata } from "next";
import { RequireLogin } from "@/components/session";
import { Keys } from "./view";

export const metadata: Metadata = { title: "API keys" };

export default function Page() {
  return (
    <RequireLogin>
      <Keys />
    </RequireLogin>
  );
}
