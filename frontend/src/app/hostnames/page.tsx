import type { Metadata } from "next";
import { RequireLogin } from "@/components/session";
import { Hostnames } from "./view";

export const metadata: Metadata = { title: "Hostnames" };

export default function Page() {
  return (
    <RequireLogin>
      <Hostnames />
    </RequireLogin>
  );
}
